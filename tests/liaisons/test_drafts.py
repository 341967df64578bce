"""Drafts from minutes: realistic items give the right service and place; places
named as blocks and crossings are found by the offline gazetteer."""

import pytest

from portal.geocode.gazetteer import Gazetteer
from portal.liaisons import drafts

# (item, service the city would want, the place as the gazetteer labels it)
MINUTES = [
    ("Pothole on the 1200 block of Girard Ave, getting bigger every week",
     "SBX-SD", "1200 block of Girard Ave"),
    ("Streetlight out at 5th & Market since October", "SBX-SLO", "5th St & Market St"),
    ("Trash piled in the alley behind 1500 N 2nd St", "SBX-DUMP", "1500 N 2nd St"),
    ("Graffiti on the wall at Frankford and Girard", "SBX-GR",
     "Frankford Ave & Girard Ave"),
    ("Abandoned car parked on Lehigh Ave near 2nd St for weeks, no plates", "SBX-AV",
     "2nd St & Lehigh Ave"),
    ("Illegal dumping of tires at the 2200 block of N Front St", "SBX-DUMP",
     "2200 block of N Front St"),
    ("Fire hydrant leaking at 12th and Walnut", "SBX-HYD", "12th St & Walnut St"),
    ("Broken sidewalk in front of 400 Spruce St, a neighbor tripped", "SBX-DSW",
     "400 Spruce St"),
    ("Vacant lot overgrown with weeds at 2nd & Cecil B Moore Ave", "SBX-VLC",
     "2nd St & Cecil B Moore Ave"),
    ("Storm drain clogged at Broad and Oregon, floods when it rains", "SBX-INL",
     "S Broad St & Oregon Ave"),
    ("Dead tree hanging over 2100 Frankford Ave", "SBX-TD", "2100 Frankford Ave"),
    ("Traffic signal dark at Broad & Spring Garden", "SBX-TSE",
     "N Broad St & Spring Garden St"),
]  # fmt: skip
NOT_REQUESTS = [
    "Thank the district for the new trash cans",
    "Next meeting on the first Tuesday",
    "Treasurer's report: $240 in the account",
]


def test_items_are_list_entries_or_lines():
    text = "Minutes\n\n- one thing\n* another\n1. a third\n\nclosing words"
    assert drafts.items_of(text) == ["one thing", "another", "a third"]
    assert drafts.items_of("first line\n\nsecond line") == ["first line", "second line"]


def test_most_realistic_items_get_the_right_service_and_place(city):
    right = 0
    for text, service, place in MINUTES:
        found = drafts.suggest(text)
        label = found.place.label if found.place else None
        right += found.service_code == service and label == place
    # 12 of 12 at the time of writing; a change of rules may cost one, not more.
    assert right >= len(MINUTES) - 1, right
    for text in NOT_REQUESTS:
        found = drafts.suggest(text)
        assert found.service_code is None or found.place is None, text


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("5th & Market", "5th St & Market St"),
        ("N 5th St and Market St", "5th St & Market St"),
        ("Girard & 2nd St", "2nd St & Girard Ave"),
        ("the corner of Frankford Ave and Girard", "Frankford Ave & Girard Ave"),
        ("1250 block of Girard Ave", "1200 block of Girard Ave"),
        ("Broad and Oregon", "S Broad St & Oregon Ave"),
        ("21st and 22nd", None),  # parallel streets never meet
        ("Market & Market", None),
        ("Trash & debris", None),
    ],
)
def test_crossings_and_blocks(city, text, label):
    found = Gazetteer().search(text, limit=1)
    assert (found[0].label if found else None) == label


def test_a_drafts_own_words_answer_single_choice_questions(city):
    from portal.extensions import db
    from portal.liaisons.bulk import inferred_answers
    from portal.tickets.models import CityService

    light = db.session.get(CityService, "SBX-SLO")
    assert inferred_answers(light, "Streetlight out at 5th & Market") == {
        "attribute[PATTERN]": "out"
    }
    assert inferred_answers(light, "Street light flickering on Walnut") == {
        "attribute[PATTERN]": "flicker"
    }
    assert inferred_answers(light, "Street light broken on Walnut") == {}
    hole = db.session.get(CityService, "SBX-SD")
    # "no" is no answer to "Is gas escaping?"
    assert inferred_answers(hole, "Pothole, no cones, on Girard") == {}
