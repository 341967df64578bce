"""Meetings: created by the area's captains and liaisons, minutes published, drafts
reviewed and filed on behalf of the meeting, and the follow-up report with the
city's statuses after `portal sandbox tick`, offered to the next meeting."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.auth.services import create_token
from portal.cityapi import get_city_api
from portal.extensions import db
from portal.liaisons import services
from portal.liaisons.models import BatchRow, Draft, Meeting
from portal.sandbox import city as sandbox_city
from portal.tickets.models import Ticket
from portal.tickets.sync import pull_updates
from tests.conftest import csrf_token
from tests.forums.test_xss_pages import page_problems
from tests.liaisons.conftest import area
from tests.tickets.conftest import drain

MINUTES = """Block meeting, 14 neighbors.

Action items:
- Pothole on the 1200 block of Girard Ave, getting bigger every week
- Streetlight out at 5th & Market since October
- Graffiti on the wall at Frankford and Girard
- Thank the district for the new trash cans
"""


def headers(user) -> dict:
    _, secret = create_token(user, "script")
    return {"Authorization": f"Bearer {secret}"}


def soon(days: int = 7) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.fixture
def meeting(liaison):
    return services.create_meeting(
        liaison,
        area("fishtown"),
        "Fishtown block meeting",
        datetime.now(UTC) - timedelta(days=1),
        "Rec center, 1200 E Berks St",
        ["Welcome", "Treasurer's report"],
    )


def test_organizers_create_meetings_and_the_area_lists_them(client, liaison, make_user):
    body = {
        "area": "fishtown",
        "title": "November meeting",
        "starts_at": soon(),
        "place": "Library",
        "agenda": ["Street lights", "Cleanup day"],
    }
    made = client.post("/api/v1/meetings", json=body, headers=headers(liaison))
    assert made.status_code == 201 and made.get_json()["area"] == "fishtown"
    other = client.post(
        "/api/v1/meetings", json={**body, "area": "mayfair"}, headers=headers(liaison)
    )
    assert other.status_code == 403
    resident = make_user(email="res@example.org")
    assert (
        client.post(
            "/api/v1/meetings", json=body, headers=headers(resident)
        ).status_code
        == 403
    )
    captain = make_user("captain", area("fishtown"), "cap@example.org")
    assert (
        client.post("/api/v1/meetings", json=body, headers=headers(captain)).status_code
        == 201
    )
    page = client.get("/areas/fishtown").data.decode()
    assert page.count("November meeting") == 2 and "Library" in page


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"place": "  "}, "place"),
        ({"starts_at": "2026-12-01T19:00:00"}, "starts_at"),  # no offset
        ({"starts_at": "3026-12-01T19:00:00+00:00"}, "starts_at"),
        ({"agenda": ["x"] * 51}, "agenda"),
        ({"area": "atlantis"}, "area"),
    ],
)
def test_bad_meetings_name_the_field(client, liaison, change, field):
    body = {
        "area": "fishtown",
        "title": "Meeting",
        "starts_at": soon(),
        "place": "Library",
        **change,
    }
    answer = client.post("/api/v1/meetings", json=body, headers=headers(liaison))
    assert answer.status_code in (404, 422)
    assert field in answer.get_json()["error"]["fields"]
    assert db.session.scalar(select(Meeting)) is None


def test_minutes_are_sanitized_and_checked(client, liaison, meeting):
    path = f"/api/v1/meetings/{meeting.id}/minutes"
    bad = client.put(
        path, json={"minutes": "ok", "attendees": -1}, headers=headers(liaison)
    )
    assert bad.status_code == 422 and "attendees" in bad.get_json()["error"]["fields"]
    text = "Met at [the rec](javascript:alert(1)) <script>alert(1)</script>"
    done = client.put(
        path, json={"minutes": text, "attendees": 14}, headers=headers(liaison)
    )
    assert done.status_code == 200
    page = client.get(f"/meetings/{meeting.id}").data.decode()
    assert page_problems(page) == []  # no script, no event attribute, no js: link
    assert "14 people came" in page


def test_from_minutes_to_filed_tickets_and_back_to_the_next_meeting(
    api, client, auth, liaison, meeting, sandbox_server
):
    answer = client.put(
        f"/api/v1/meetings/{meeting.id}/minutes",
        json={"minutes": MINUTES, "attendees": 14},
        headers=headers(liaison),
    )
    assert answer.status_code == 200
    drafted = client.post(
        f"/api/v1/meetings/{meeting.id}/drafts", headers=headers(liaison)
    ).get_json()
    assert [d["service_code"] for d in drafted] == ["SBX-SD", "SBX-SLO", "SBX-GR"]
    again = client.post(
        f"/api/v1/meetings/{meeting.id}/drafts", headers=headers(liaison)
    )
    assert len(again.get_json()) == 3  # not drafted twice
    # The liaison reviews in the table: corrects one, drops one, files the rest.
    auth.login("liaison@example.org")
    token = csrf_token(client, f"/meetings/{meeting.id}")
    first, second, third = (d["id"] for d in drafted)
    form = {
        "csrf_token": token,
        "batch_key": "review-1",
        f"draft-{first}-file": "1",
        f"draft-{first}-service_code": "SBX-SD",
        f"draft-{first}-address": "1200 block of Girard Ave",
        f"draft-{first}-description": "Pothole, 1200 Girard",
        f"draft-{second}-drop": "1",
        f"draft-{third}-file": "1",
        f"draft-{third}-service_code": "SBX-GR",
        f"draft-{third}-address": "Frankford and Girard",
        f"draft-{third}-description": "Graffiti",
    }
    filed = client.post(f"/meetings/{meeting.id}/drafts/file", data=form)
    assert filed.status_code == 302 and "/batches/" in filed.location
    page = client.get(filed.location).data.decode()
    # Street Defect asks whether gas or water escapes: the row says which answer.
    assert "attribute[GAS]" in page
    states = {d.id: d.state for d in db.session.scalars(select(Draft))}
    assert states == {first: "filed", second: "dropped", third: "filed"}
    # Graffiti Removal asks whether it is on a rail corridor: answered in the row.
    graffiti = db.session.scalar(
        select(BatchRow).where(BatchRow.cells["service_code"].as_string() == "SBX-GR")
    )
    assert graffiti.outcome == "invalid" and "attribute[RAIL]" in graffiti.errors
    fixed = client.post(
        f"/batches/rows/{graffiti.id}",
        data={
            "csrf_token": token,
            "service_code": "SBX-GR",
            "address": "Frankford Ave & Girard Ave",
            "description": "Graffiti",
            "attribute[RAIL]": "no",
        },
    )
    assert fixed.status_code == 302
    ticket = db.session.scalar(select(Ticket).where(Ticket.channel == "batch"))
    assert ticket.service_code == "SBX-GR"
    assert "Fishtown block meeting" in ticket.on_behalf_of
    assert "Fishtown block meeting" in client.get(f"/tickets/{ticket.id}").data.decode()
    # The city takes it, works on it; the report shows what it says.
    drain(api)
    pull_updates(get_city_api())  # the first pass sets the high-water mark
    for seed in range(3):  # `portal sandbox tick`, with every request moving
        sandbox_city.tick(sandbox_server.store, random.Random(seed), share=1.0)
    pull_updates(get_city_api())
    db.session.refresh(ticket)
    assert ticket.status_notes
    report = client.get(f"/meetings/{meeting.id}/report").data.decode()
    assert ticket.status_notes in report and ticket.status in report
    spreadsheet = client.get(f"/meetings/{meeting.id}/report.csv").data.decode()
    assert ticket.city_id in spreadsheet and ticket.status_notes in spreadsheet
    # The next meeting of the area carries the follow-up on its page.
    following = services.create_meeting(
        liaison,
        area("fishtown"),
        "December meeting",
        datetime.now(UTC) + timedelta(days=20),
        "Library",
        [],
    )
    upcoming = client.get(f"/meetings/{following.id}").data.decode()
    assert "Follow-up from Fishtown block meeting" in upcoming
    assert ticket.status_notes in upcoming


def test_meeting_pages_for_organizers_only(client, auth, liaison, make_user, meeting):
    make_user(email="res@example.org")
    auth.login("res@example.org")
    page = client.get(f"/meetings/{meeting.id}").data.decode()
    assert "Fishtown block meeting" in page and "Publish the minutes" not in page
    token = csrf_token(client, f"/meetings/{meeting.id}")
    refused = client.post(
        f"/meetings/{meeting.id}/minutes",
        data={"minutes": "x", "attendees": "3", "csrf_token": token},
    )
    assert refused.status_code == 403
    assert client.get("/meetings/new").status_code == 403
    auth.logout()
    auth.login("liaison@example.org")
    token = csrf_token(client, "/meetings/new")
    made = client.post(
        "/meetings/new",
        data={
            "csrf_token": token,
            "area": "kensington",
            "title": "Kensington night",
            "date": "2026-12-10",
            "time": "18:30",
            "place": "Church hall",
            "agenda": "- Lights\n- Trash",
        },
    )
    assert made.status_code == 302
    created = db.session.scalar(
        select(Meeting).where(Meeting.title == "Kensington night")
    )
    assert created.agenda == ["Lights", "Trash"]
    assert created.starts_at.astimezone(UTC).hour == 23  # 18:30 in Philadelphia
    missing = client.post(
        "/meetings/new",
        data={"csrf_token": token, "area": "kensington", "title": "", "date": "x"},
    )
    assert missing.status_code == 422
