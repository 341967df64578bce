"""The sync and the push: converge, never go backwards, never repeat themselves."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.cityapi.errors import CityUnavailable
from portal.cityapi.types import ServiceRequest
from portal.config import Config
from portal.extensions import db
from portal.sandbox.store import CityRequest
from portal.tickets.models import SyncState, Ticket, TicketEvent
from portal.tickets.sync import apply_update, pull_updates
from tests.conftest import SANDBOX_KEY
from tests.tickets.conftest import PUSH_KEY

DEMO_KEY = Config.SANDBOX_API_KEY  # public: it is in the README

INSIDE = (39.95, -75.15)
OUTSIDE = (40.50, -74.00)


@pytest.fixture
def area(make_area):
    return make_area("Old City", (-75.20, 39.90, -75.10, 40.00))


def city_add(
    sandbox_server, n=1, status="open", where=INSIDE, minutes_ago=60, **fields
):
    moment = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    with sandbox_server.store.session() as session:
        rows = [
            CityRequest(
                service_code=fields.get("service_code", "SBX-GR"),
                status=status,
                status_notes=fields.get("status_notes"),
                description=fields.get("description", "graffiti"),
                requested=moment,
                updated=moment,
                lat=where[0],
                long=where[1],
                attributes={},
                contact={},
            )
            for _ in range(n)
        ]
        session.add_all(rows)
        session.flush()
        for row in rows:
            row.public_id = str(500_000 + row.id)
        session.commit()
    return rows


def city_change(sandbox_server, row, **fields):
    with sandbox_server.store.session() as session:
        stored = session.get(CityRequest, row.id)
        for key, value in fields.items():
            setattr(stored, key, value)
        stored.updated = datetime.now(UTC)
        session.commit()


def events() -> int:
    return db.session.scalar(select(func.count()).select_from(TicketEvent))


def tickets() -> list[Ticket]:
    return list(db.session.scalars(select(Ticket).order_by(Ticket.city_id)))


def test_first_sync_imports_open_requests_inside_the_areas(api, sandbox_server, area):
    city_add(sandbox_server, 3)
    city_add(sandbox_server, 2, status="closed")
    city_add(sandbox_server, 2, where=OUTSIDE)
    report = pull_updates(api)
    assert (report.created, report.unchanged) == (3, 2)  # two lie outside
    imported = tickets()
    assert len(imported) == 3
    assert {t.area.slug for t in imported} == {"old-city"}
    assert {t.channel for t in imported} == {"city"}
    assert db.session.get(SyncState, "requests").high_water is not None


def test_a_repeated_sync_changes_nothing(api, sandbox_server, area):
    city_add(sandbox_server, 4)
    pull_updates(api)
    before = events()
    report = pull_updates(api)
    assert report.created == report.updated == 0
    assert events() == before


def test_changes_are_applied_once_with_an_event(api, sandbox_server, area):
    (row,) = city_add(sandbox_server)
    pull_updates(api)
    city_change(sandbox_server, row, status="closed", status_notes="Case resolved.")
    report = pull_updates(api)
    assert report.updated == 1
    (ticket,) = tickets()
    assert ticket.status == "closed" and ticket.status_notes == "Case resolved."
    last = ticket.events[-1]
    assert (last.kind, last.old_status, last.new_status, last.source) == (
        "status",
        "open",
        "closed",
        "sync",
    )
    assert pull_updates(api).updated == 0
    assert len(ticket.events) == 2


def test_an_older_update_never_overwrites_a_newer_one(api, sandbox_server, area):
    (row,) = city_add(sandbox_server)
    pull_updates(api)
    (ticket,) = tickets()
    newer = ticket.city_updated_at + timedelta(minutes=5)
    update = ServiceRequest(
        row.public_id, "closed", status_notes="done", updated_datetime=newer
    )
    assert apply_update(update, "push") is not None
    stale = ServiceRequest(
        row.public_id,
        "open",
        status_notes="reopened?",
        updated_datetime=newer - timedelta(1),
    )
    assert apply_update(stale, "sync") is None
    same = ServiceRequest(row.public_id, "open", updated_datetime=newer)
    assert apply_update(same, "sync") is None
    db.session.commit()
    assert ticket.status == "closed" and ticket.status_notes == "done"


def test_an_interrupted_sync_converges_next_time(app, api, sandbox_server, area):
    app.config["CITY_SYNC_PAGE_SIZE"] = 2
    city_add(sandbox_server, 5)
    sandbox_server.faults(outage_after=1)  # the city goes down after the first page
    with pytest.raises(CityUnavailable):
        pull_updates(api)
    assert len(tickets()) == 2  # the first page was kept
    assert db.session.get(SyncState, "requests") is None  # the mark did not move
    sandbox_server.faults()
    report = pull_updates(api)
    assert report.created == 3 and len(tickets()) == 5
    assert pull_updates(api).created == 0


def test_a_synced_record_of_our_own_pending_token_joins_its_ticket(
    api, sandbox_server, area
):
    from portal.tickets.services import queue_ticket

    ticket = queue_ticket("SBX-AV", address="1 Market St", lat=39.95, lon=-75.15)
    ticket.send_state, ticket.token = "sent", "tok-1"
    db.session.commit()
    city_add(sandbox_server, description=f"abandoned car\n\n[ref {ticket.ref}]")
    pull_updates(api)
    assert len(tickets()) == 1
    db.session.refresh(ticket)
    assert ticket.city_id and ticket.channel == "web"


# --- the push endpoint (mySociety servicerequestupdates) ---


def push(client, **fields):
    form = {
        "api_key": PUSH_KEY,
        "update_id": "u1",
        "service_request_id": "500001",
        "status": "CLOSED",
        "updated_datetime": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
        "description": "Crew cleaned the wall.",
    }
    form.update(fields)
    return client.post("/open311/v2/servicerequestupdates.json", data=form)


def test_push_updates_the_ticket_once(client, api, sandbox_server, area):
    city_add(sandbox_server)
    pull_updates(api)
    response = push(client)
    assert response.status_code == 200 and response.json == [{"update_id": "u1"}]
    (ticket,) = tickets()
    db.session.refresh(ticket)
    assert ticket.status == "closed" and ticket.status_notes == "Crew cleaned the wall."
    assert ticket.events[-1].source == "push"
    count = events()
    push(client, updated_datetime=ticket.city_updated_at.isoformat())  # the same again
    assert events() == count


@pytest.mark.parametrize(
    "fields, status, words",
    [
        ({"api_key": "wrong"}, 403, "api_key"),
        ({"api_key": ""}, 403, "api_key"),
        ({"api_key": DEMO_KEY}, 403, "api_key"),  # the public demo key
        ({"updated_datetime": "0001-01-01T00:00:00+01:00"}, 400, "1900"),
        ({"updated_datetime": "9999-12-31T23:59:00-01:00"}, 400, "1900"),
        ({"status": ""}, 400, "missing: status"),
        ({"update_id": ""}, 400, "missing: update_id"),
        ({"status": "EXPLODED"}, 400, "not one we know"),
        ({"updated_datetime": "yesterday"}, 400, "W3C"),
        ({"updated_datetime": "2026-01-01T10:00:00"}, 400, "timezone"),
        ({"service_request_id": "nope"}, 404, "no request"),
    ],
)
def test_push_refuses_bad_updates(
    client, api, sandbox_server, area, fields, status, words
):
    city_add(sandbox_server)
    pull_updates(api)
    before = events()
    response = push(client, **fields)
    assert response.status_code == status
    assert words in response.json[0]["description"]
    assert events() == before


def test_the_portal_serves_its_tickets_as_georeport(client, api, sandbox_server, area):
    city_add(sandbox_server, 3)
    pull_updates(api)
    listed = client.get("/open311/v2/requests.json").json
    assert len(listed) == 3 and {r["status"] for r in listed} == {"open"}
    one = listed[0]["service_request_id"]
    assert (
        client.get(f"/open311/v2/requests/{one}.json").json[0]["service_request_id"]
        == one
    )
    xml = client.get("/open311/v2/requests.xml?status=open").get_data(as_text=True)
    assert xml.count("<request>") == 3
    assert client.get("/open311/v2/requests.json?status=closed").json == []
    assert client.get("/open311/v2/requests.json?status=maybe").status_code == 400
    assert client.get("/open311/v2/requests.json?start_date=soon").status_code == 400
    assert client.get("/open311/v2/requests/404404.json").status_code == 404
    assert "application/json" in client.get("/open311/v2/discovery.json").get_data(
        as_text=True
    )


@pytest.mark.parametrize("push_key", [None, DEMO_KEY])
def test_a_real_city_without_its_own_push_key_has_the_push_off(
    make_app, sandbox_server, caplog, push_key
):
    app = make_app(
        CITY_URL=sandbox_server.endpoint,
        CITY_API_KEY=SANDBOX_KEY,
        CITY_PUSH_KEY=push_key,
    )
    assert "pushed updates are refused" in caplog.text
    with app.app_context():
        response = app.test_client().post(
            "/open311/v2/servicerequestupdates.json",
            data={"api_key": SANDBOX_KEY, "update_id": "u1"},
        )
    assert response.status_code == 403
    assert "not enabled" in response.json[0]["description"]


def test_the_demo_key_opens_the_push_only_for_the_built_in_sandbox(make_app):
    app = make_app(CITY_URL=None, SANDBOX_API_KEY=DEMO_KEY)
    response = app.test_client().post(
        "/open311/v2/servicerequestupdates.json",
        data={"api_key": DEMO_KEY, "update_id": "u1"},
    )
    assert response.status_code == 400  # past the key: the update itself is short
    assert "missing" in response.json[0]["description"]
