"""Atom feeds: an area's, public and conditional; a person's watched places, private
behind a token that works signed out and stops working when reset."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.notifications import feeds, watches
from portal.tickets.models import Ticket, TicketEvent

ATOM = "{http://www.w3.org/2005/Atom}"
CENTER = (39.95, -75.15)
METRE = 1 / 111_195  # a metre of latitude, in degrees


@pytest.fixture
def old_city(make_area):
    return make_area("Old City", (-75.20, 39.90, -75.10, 40.00))


@pytest.fixture
def fishtown(make_area):
    return make_area("Fishtown", (-75.10, 39.90, -75.00, 40.00))


def ticket(area, title="Pothole Repair", where=CENTER, minutes_ago=0, **fields):
    row = Ticket(
        service_code="SBX-POT",
        service_name=title,
        address=fields.pop("address", "100 Market St"),
        lat=where[0],
        lon=where[1],
        area_id=area.id if area else None,
        created_at=utcnow() - timedelta(minutes=minutes_ago),
        **fields,
    )
    db.session.add(row)
    db.session.commit()
    return row


def parse(answer) -> ET.Element:
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "application/atom+xml"
    root = ET.fromstring(answer.get_data())
    assert root.tag == f"{ATOM}feed"
    return root


def check_atom(root: ET.Element) -> list[ET.Element]:
    """The elements RFC 4287 requires, times in UTC; answers the entries."""
    for name in ("id", "title", "updated"):
        assert (root.findtext(f"{ATOM}{name}") or "").strip(), name
    rels = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert rels["self"].startswith("http") and rels["alternate"].startswith("http")
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for name in ("id", "title", "updated"):
            assert (entry.findtext(f"{ATOM}{name}") or "").strip(), name
        # No rel means "alternate" (RFC 4287 section 4.2.7.2).
        links = entry.findall(f"{ATOM}link")
        assert [x for x in links if x.get("rel", "alternate") == "alternate"]
        assert entry.findtext(f"{ATOM}updated").endswith("+00:00")
    assert len({entry.findtext(f"{ATOM}id") for entry in entries}) == len(entries)
    return entries


def titles(entries) -> list[str]:
    return [entry.findtext(f"{ATOM}title") for entry in entries]


def test_an_areas_feed_is_atom_with_its_new_tickets_and_status_changes(
    client, old_city, fishtown
):
    mine = ticket(old_city, "Pothole Repair", minutes_ago=10)
    ticket(fishtown, "Graffiti Removal", where=(39.95, -75.05))
    mine.events.append(
        TicketEvent(kind="status", source="sync", new_status="closed", notes="Fixed.")
    )
    db.session.commit()
    entries = check_atom(parse(client.get("/notifications/feeds/areas/old-city.atom")))
    assert titles(entries) == [
        "Pothole Repair is now closed",  # the newest first
        "New request: Pothole Repair, 100 Market St",
    ]
    link = entries[1].find(f"{ATOM}link").get("href")
    assert link.endswith(f"/tickets/{mine.id}")
    assert entries[0].findtext(f"{ATOM}summary") == "Fixed."


def test_the_area_feed_answers_304_to_its_etag_and_changes_with_a_ticket(
    client, old_city
):
    ticket(old_city)
    path = "/notifications/feeds/areas/old-city.atom"
    first = client.get(path)
    assert first.headers["ETag"] and "public" in first.headers["Cache-Control"]
    again = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    ticket(old_city, "Dumping", address="5 Race St")
    changed = client.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert "New request: Dumping, 5 Race St" in titles(check_atom(parse(changed)))


def test_a_feed_holds_the_latest_fifty(client, old_city):
    for number in range(55):
        ticket(old_city, f"Request {number}", minutes_ago=100 - number)
    entries = check_atom(parse(client.get("/notifications/feeds/areas/old-city.atom")))
    assert len(entries) == feeds.LIMIT == 50
    assert titles(entries)[0] == "New request: Request 54, 100 Market St"


def test_an_unknown_area_has_no_feed(client, old_city):
    answer = client.get("/notifications/feeds/areas/atlantis.atom")
    assert answer.status_code == 404
    assert "no area called atlantis" in answer.get_data(as_text=True)


def test_the_area_page_links_its_feed(client, old_city):
    page = client.get("/areas/old-city").get_data(as_text=True)
    assert re.search(
        r'<link rel="alternate" type="application/atom\+xml"[^>]*'
        r'href="/notifications/feeds/areas/old-city.atom"',
        page,
    )


def feed_links(client) -> list[str]:
    page = client.get("/notifications/watches").get_data(as_text=True)
    return re.findall(r"http://localhost(/notifications/feeds/[^\"<\s]+\.atom)", page)


def test_a_watched_place_feed_works_signed_out_and_a_reset_ends_the_old_one(
    app, client, auth, make_user, old_city, fishtown
):
    ann = make_user(name="Ann", email="ann@example.org")
    circle = watches.watch_point(ann, *CENTER, 200, "my block")
    inside = ticket(None, "Streetlight", where=(CENTER[0] + 150 * METRE, CENTER[1]))
    ticket(None, "Far away", where=(CENTER[0] + 300 * METRE, CENTER[1]))
    ticket(fishtown, "Graffiti Removal", where=(39.95, -75.05))
    auth.login("ann@example.org")
    everything, *each = feed_links(client)
    assert each[0] == everything.removesuffix(".atom") + f"/places/{circle.id}.atom"
    auth.logout()
    root = parse(client.get(everything))
    assert titles(check_atom(root)) == ["New request: Streetlight, 100 Market St"]
    assert root.findtext(f"{ATOM}title") == "New in the places I watch"
    assert "private" in client.get(everything).headers["Cache-Control"]
    one = parse(client.get(each[0]))
    assert one.findtext(f"{ATOM}title") == "New around my block"
    assert inside.id  # and the far one (300 m off a 200 m circle) is not in it
    # Her areas are in it too.
    watches.watch_area(ann, "fishtown")
    assert "New request: Graffiti Removal, 100 Market St" in titles(
        check_atom(parse(client.get(everything)))
    )
    auth.login("ann@example.org")
    page = client.get("/notifications/watches").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    assert client.post(
        "/notifications/feeds/reset", data={"csrf_token": token}
    ).status_code in (302, 303)
    (renewed, *_rest) = feed_links(client)
    auth.logout()
    assert renewed != everything
    stale = client.get(everything)
    assert stale.status_code == 404
    assert "not valid or was reset" in stale.get_data(as_text=True)
    assert client.get(each[0]).status_code == 404
    assert parse(client.get(renewed)).findtext(f"{ATOM}title")


def test_a_forged_token_or_anothers_watch_has_no_feed(client, make_user, old_city):
    ann = make_user(name="Ann", email="ann@example.org")
    bo = make_user(name="Bo", email="bo@example.org")
    bos = watches.watch_point(bo, *CENTER, 300)
    token = feeds.feed_token(ann)
    assert client.get(f"/notifications/feeds/{token}.atom").status_code == 200
    for path in (
        f"/notifications/feeds/{token[:-3]}abc.atom",
        f"/notifications/feeds/{token}/places/{bos.id}.atom",
        "/notifications/feeds/nonsense.atom",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.get_data(as_text=True).strip()
