"""The tickets domain's notifications, against the sandbox city: followers hear of
status and notes once whatever repeats, filers of what became of their submission,
watchers of a place of what is new there."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from portal.cityapi import build_client
from portal.cityapi.types import ServiceRequest
from portal.extensions import db
from portal.notifications import services as notifications
from portal.notifications import watches
from portal.sandbox.dialects import set_dialects
from portal.tickets.models import Ticket, TicketFollow
from portal.tickets.sender import send_due
from portal.tickets.services import queue_ticket, set_following
from portal.tickets.sync import apply_update, pull_updates
from tests.notifications.conftest import told
from tests.tickets import conftest as tickets
from tests.tickets.test_sync import city_add, city_change

# The ticket tests' city: the sandbox over loopback HTTP, pushes signed with a key.
app_overrides, api, PUSH_KEY = tickets.app_overrides, tickets.api, tickets.PUSH_KEY

CENTER = (39.95, -75.15)
METRE = 1 / 111_195  # a metre of latitude, in degrees


def north_of(point, metres):
    return point[0] + metres * METRE, point[1]


@pytest.fixture
def neighbors(make_user, area):
    return [make_user(name=name) for name in ("Ann", "Bo", "Cy")]


def synced_ticket(api, sandbox_server):
    (row,) = city_add(sandbox_server, where=CENTER)
    pull_updates(api)
    return row, db.session.scalar(select(Ticket))


def test_three_followers_of_a_ticket_the_city_closes_each_hear_once(
    api, sandbox_server, neighbors
):
    row, ticket = synced_ticket(api, sandbox_server)
    for person in neighbors:
        set_following(person, ticket.id, True)
    city_change(sandbox_server, row, status="closed", status_notes="Wall cleaned.")
    pull_updates(api)
    pull_updates(api)  # a repeated sync adds nothing
    for person in neighbors:
        (row_told,) = told(person)
        assert (row_told.kind, row_told.item_id) == ("ticket_status", ticket.id)
        assert row_told.values["note"] == "Wall cleaned."
        assert notifications.text_of(row_told) == (
            "Graffiti Removal is now closed. Wall cleaned."
        )
    city_change(sandbox_server, row, status_notes="Wall painted over too.")
    pull_updates(api)
    assert [r.kind for r in told(neighbors[0])] == ["ticket_status", "ticket_note"]


def push(client, ticket, moment, notes):
    form = {
        "api_key": PUSH_KEY,
        "update_id": "u1",
        "service_request_id": ticket.city_id,
        "status": "closed",
        "updated_datetime": moment.isoformat(),
        "description": notes,
    }
    return client.post("/open311/v2/servicerequestupdates.json", data=form)


def test_a_change_pushed_then_pulled_is_told_once(
    client, api, sandbox_server, neighbors
):
    row, ticket = synced_ticket(api, sandbox_server)
    ann = neighbors[0]
    set_following(ann, ticket.id, True)
    opened_at = ticket.city_updated_at
    city_change(sandbox_server, row, status="closed", status_notes="Done.")
    (changed,) = api.get_requests(service_request_id=ticket.city_id)
    assert push(client, ticket, changed.updated_datetime, "Done.").status_code == 200
    assert len(told(ann)) == 1
    # The pull that read the ticket before the push committed applies it too: the
    # change's identity (the city's updated_datetime) makes it one notification.
    db.session.refresh(ticket)
    ticket.city_updated_at = opened_at
    assert apply_update(changed, "sync") is not None
    db.session.commit()
    assert len(told(ann)) == 1
    pull_updates(api)
    assert len(told(ann)) == 1


def test_a_follower_who_stopped_hears_nothing(api, sandbox_server, neighbors):
    row, ticket = synced_ticket(api, sandbox_server)
    ann, bo, _cy = neighbors
    set_following(ann, ticket.id, True)
    set_following(bo, ticket.id, True)
    set_following(bo, ticket.id, False)
    city_change(sandbox_server, row, status="closed")
    pull_updates(api)
    assert len(told(ann)) == 1 and told(bo) == []


def test_the_filer_follows_and_hears_sent_then_the_citys_words(
    api, sandbox_server, neighbors
):
    ann = neighbors[0]
    ticket = queue_ticket(
        "SBX-DA", lat=CENTER[0], lon=CENTER[1], description="a fox", filed_by=ann
    )
    assert db.session.get(TicketFollow, (ticket.id, ann.id)) is not None
    send_due(api)
    db.session.refresh(ticket)
    (sent,) = told(ann)
    assert sent.kind == "ticket_sent" and sent.values["city_id"] == ticket.city_id
    assert ticket.city_id in notifications.text_of(sent)
    send_due(api)
    pull_updates(api)  # the sync meets the city's copy of it: still one "sent"
    assert [r.kind for r in told(ann)] == ["ticket_sent"]


def test_a_refused_ticket_tells_its_filer_the_citys_words(
    api, sandbox_server, neighbors
):
    ann, bo, _cy = neighbors
    ticket = queue_ticket(
        "SBX-SD", lat=CENTER[0], lon=CENTER[1], description="pothole", filed_by=ann
    )
    set_following(bo, ticket.id, True)
    send_due(api)
    (refused,) = told(ann)
    assert refused.kind == "ticket_rejected"
    assert "attribute[GAS] is required" in notifications.text_of(refused)
    assert told(bo) == []  # the city's words on a submission are the filer's


def test_a_held_ticket_tells_its_filer(app, sandbox_server, neighbors):
    # A city that crashes on an address-only POST, and a portal sending only the
    # standard name (as tests/tickets/test_city_words.py).
    set_dialects(sandbox_server.app, ["address_field"])
    app.config.update(CITY_ADDRESS_FIELDS=["address_string"], CITY_HOLD_AFTER=1)
    api = build_client(app)
    ann = neighbors[0]
    queue_ticket(
        "SBX-DV", address="1400 John F Kennedy Blvd", description="full", filed_by=ann
    )
    send_due(api)
    api.close()
    (held,) = told(ann)
    assert (
        held.kind == "ticket_held" and "Internal Server Error" in held.values["reason"]
    )


# --- watched places ---


def file_at(point, filer, area):
    return queue_ticket("SBX-GR", lat=point[0], lon=point[1], filed_by=filer, area=area)


def test_a_watched_radius_hears_of_a_new_ticket_inside_not_outside(neighbors, area):
    ann, bo, _cy = neighbors
    watches.watch_point(ann, *CENTER, 200, "my block")
    inside = file_at(north_of(CENTER, 150), bo, area)
    file_at(north_of(CENTER, 300), bo, area)
    (row,) = told(ann)
    assert (row.kind, row.item_id) == ("new_ticket_in_place", inside.id)
    assert row.actor_id == bo.id
    watches.watch_point(bo, *CENTER, 500)
    file_at(CENTER, bo, area)  # the filer is not told of their own ticket
    assert told(bo) == []


def test_area_watchers_and_the_areas_captains_hear_of_new_tickets(
    make_user, make_area, neighbors, area
):
    ann, bo, _cy = neighbors
    elsewhere = make_area("Far Away", (-75.30, 40.10, -75.25, 40.15))
    captain = make_user(role="captain", area=area)
    watches.watch_area(ann, area.slug)
    file_at(CENTER, bo, area)
    file_at((40.12, -75.27), bo, elsewhere)
    assert len(told(ann)) == 1 and len(told(captain)) == 1
    watches.unwatch_area(captain, area.slug)
    watches.unwatch_area(ann, area.slug)
    file_at(CENTER, bo, area)
    assert len(told(ann)) == 1 and len(told(captain)) == 1
    watches.watch_area(captain, area.slug)
    file_at(CENTER, bo, area)
    assert len(told(captain)) == 2


def test_the_sync_finds_the_watchers_of_a_whole_page_in_one_pass(
    app, api, sandbox_server, neighbors, area
):
    ann, bo, cy = neighbors
    city_add(sandbox_server, where=CENTER)
    pull_updates(api)  # the first import is old news: nobody is told
    watches.watch_point(ann, *CENTER, 200)
    watches.watch_point(bo, *north_of(CENTER, 1500), 100)
    watches.watch_area(cy, area.slug)
    assert [told(p) for p in neighbors] == [[], [], []]
    city_add(sandbox_server, 6, where=north_of(CENTER, 50), minutes_ago=1)
    city_add(sandbox_server, 4, where=north_of(CENTER, 1000), minutes_ago=1)
    asked = []

    def count(conn, cursor, statement, *args):
        if "FROM watches" in statement:
            asked.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        report = pull_updates(api)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert report.created == 10 and report.pages == 1
    assert len(asked) == 2  # area watches and circles: not one per ticket
    assert len(told(ann)) == 6 and told(bo) == [] and len(told(cy)) == 10


def test_an_update_older_than_the_ticket_tells_nobody(api, sandbox_server, neighbors):
    _row, ticket = synced_ticket(api, sandbox_server)
    set_following(neighbors[0], ticket.id, True)
    stale = ServiceRequest(
        ticket.city_id,
        "closed",
        updated_datetime=ticket.city_updated_at - timedelta(minutes=1),
    )
    assert apply_update(stale, "push") is None
    db.session.commit()
    assert told(neighbors[0]) == []


def test_a_batch_filer_hears_of_the_batch_not_of_each_row(
    api, sandbox_server, neighbors
):
    ann = neighbors[0]
    for n in range(3):
        queue_ticket(
            "SBX-DA",
            lat=CENTER[0],
            lon=CENTER[1],
            description=f"fox {n}",
            filed_by=ann,
            channel="batch",
        )
    send_due(api)
    assert [r.kind for r in told(ann) if r.kind.startswith("ticket_")] == []
