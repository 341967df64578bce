"""Every city-link path against each real server's dialect alone, and all at once, with
faults on: services, definitions, sending, recovery search, tokens, sync and push."""

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from portal.cityapi import build_client
from portal.cityapi.errors import CityRejected, CityUnavailable
from portal.extensions import db
from portal.sandbox import city
from portal.sandbox.catalog import SERVICES
from portal.sandbox.dialects import ALL, set_dialects
from portal.sandbox.faults import THIRTY_PERCENT
from portal.sandbox.store import CityRequest
from portal.tickets.city_services import refresh_services
from portal.tickets.models import CityService, SyncState, Ticket
from portal.tickets.sender import send_due
from portal.tickets.services import queue_ticket
from portal.tickets.sync import SYNC_KEY, pull_updates
from tests.tickets.conftest import PUSH_KEY, city_requests

# Lost answers included (timeouts and drops after the city stored the request); the
# city's slow answers last longer than the client waits.
FAULTS = {**THIRTY_PERCENT, "timeout_seconds": 0.4}
# Dialects that change what a POST must carry: the tickets below give what each needs.
EVERY = (
    [pytest.param((), id="plain")]
    + [pytest.param((name,), id=name) for name in ALL]
    + [pytest.param(ALL, id="all-at-once")]
)


@pytest.fixture
def app_overrides(app_overrides):
    # Random server errors never hold a ticket here, and no ticket runs out of
    # attempts: both bounds have tests of their own. With 30% faults an attempt that
    # must search several listing pages first fails far more often than 30%, and a
    # busy machine turns slow answers into timeouts too; here that only means more
    # passes, and `settle` fails on a stall instead.
    return {**app_overrides, "CITY_HOLD_AFTER": 40, "CITY_MAX_ATTEMPTS": 100_000}


@pytest.fixture
def faulty_api(app):
    """A client that gives up after 0.25 s: faults time out on purpose, and waiting
    less keeps each test short."""
    app.config["CITY_TIMEOUT"] = 0.25
    client = build_client(app)
    yield client
    client.close()


def settle(api, sandbox_server, stall_seconds=120) -> int:
    """Send until nothing is left to send; the city publishes what it hides whenever a
    pass leaves tickets waiting for it (its staff at work). Answers the passes.

    It fails when what is left stops shrinking for ``stall_seconds``: a hang, not a
    busy machine, which only makes every pass slower.
    """
    unsettled = Ticket.send_state.in_(("queued", "sending", "confirming")) | (
        (Ticket.send_state == "sent") & Ticket.city_id.is_(None)
    )
    passes, fewest = 0, None
    progress_at = datetime.now(UTC)
    while True:
        db.session.expire_all()
        left = db.session.execute(
            select(Ticket.send_state, func.count())
            .where(unsettled)
            .group_by(Ticket.send_state)
        ).all()
        if not left:
            return passes
        count = sum(number for _state, number in left)
        if fewest is None or count < fewest:
            fewest, progress_at = count, datetime.now(UTC)
        stalled = datetime.now(UTC) - progress_at
        assert stalled < timedelta(seconds=stall_seconds), left
        # No waiting out the backoff: the next pass takes every one that is left.
        db.session.execute(
            update(Ticket).where(unsettled).values(next_attempt_at=datetime.now(UTC))
        )
        db.session.commit()
        send_due(api, limit=500)
        passes += 1
        if any(state == "confirming" for state, _count in left) or passes % 3 == 0:
            city.publish_all(sandbox_server.store)


def file_tickets(codes: dict[str, str]) -> list[Ticket]:
    """A dozen tickets over every kind of service: plain, with questions, batch, and
    one known only by its address."""
    rng = random.Random(7)
    tickets = []
    for number in range(12):
        code = codes[("SBX-DV", "SBX-GR", "SBX-TCR", "SBX-DUMP")[number % 4]]
        service = db.session.get(CityService, code)
        answers = {}
        for question in service.attributes:
            if question["required"] and question["values"]:
                key = question["values"][0]["key"]
                multi = question["datatype"] == "multivaluelist"
                answers[question["code"]] = [key] if multi else key
        lat, lon = 39.95 + rng.uniform(-0.01, 0.01), -75.15 + rng.uniform(-0.01, 0.01)
        if number == 5:
            lat = lon = None
        tickets.append(
            queue_ticket(
                code,
                lat=lat,
                lon=lon,
                address="1400 John F Kennedy Blvd" if lat is None else None,
                description=f"report {number}",
                attributes=answers,
            )
        )
    return tickets


def service_codes() -> dict[str, str]:
    """The catalog's codes as this city calls them (SeeClickFix numbers them)."""
    rows = db.session.scalars(select(CityService).where(CityService.active)).all()
    by_name = {row.name: row.code for row in rows}
    return {entry[0]: by_name[entry[1]] for entry in SERVICES if entry[1] in by_name}


def sync_through_faults(api, passes: int = 60) -> None:
    """Run the sync until a pass completes (a failed pass stops; the next goes on)."""
    for _attempt in range(passes):
        try:
            pull_updates(api)
            return
        except (CityUnavailable, CityRejected):
            db.session.rollback()
    pytest.fail("the sync never completed")


@pytest.mark.parametrize("dialects", EVERY)
def test_every_path_survives_the_dialect(client, faulty_api, sandbox_server, dialects):
    api = faulty_api
    set_dialects(sandbox_server.app, dialects)
    refresh_services(api)  # services and definitions, before the faults
    codes = service_codes()
    assert len(codes) >= 30
    sandbox_server.faults(**FAULTS, seed=len(dialects))
    tickets = file_tickets(codes)
    settle(api, sandbox_server)

    # Exactly once: every ticket is one request at the city, each ref once.
    stored = city_requests(sandbox_server)
    refs = [row.description.rsplit("[ref ", 1)[1].rstrip("]") for row in stored]
    assert sorted(refs) == sorted(t.ref for t in tickets)
    for ticket in tickets:
        db.session.refresh(ticket)
        assert ticket.send_state == "sent" and ticket.city_id, ticket.events
    address_only = next(row for row in stored if row.lat is None)
    assert address_only.address == "1400 John F Kennedy Blvd"

    # The sync, with the faults still on: it converges, and reads the city's changes.
    sync_through_faults(api)
    city.publish_all(sandbox_server.store)
    city.tick(sandbox_server.store, random.Random(1), share=1.0)
    sync_through_faults(api)
    sandbox_server.faults()
    pull_updates(api)
    by_ref = {row.description.rsplit("[ref ", 1)[1].rstrip("]"): row for row in stored}
    moved = 0
    for ticket in tickets:
        db.session.refresh(ticket)
        at_city = next(
            r for r in city_requests(sandbox_server) if r.id == by_ref[ticket.ref].id
        )
        assert ticket.status == at_city.status.lower()
        moved += ticket.status_notes is not None
    assert moved == len(tickets)  # the tick touched every one, and the sync saw it
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == len(tickets)

    # The push: a city reporting a change by itself.
    ticket = tickets[0]
    answer = client.post(
        "/open311/v2/servicerequestupdates.json",
        data={
            "api_key": PUSH_KEY,
            "update_id": "u-1",
            "service_request_id": ticket.city_id,
            "status": "closed",
            "updated_datetime": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "description": "Closed by the crew.",
        },
    )
    assert answer.status_code == 200
    db.session.refresh(ticket)
    assert ticket.status == "closed" and ticket.status_notes == "Closed by the crew."


def city_changes(sandbox_server, count: int) -> None:
    """Exactly ``count`` open requests at the city, all changed in the sync window."""
    moment = datetime.now(UTC)
    with sandbox_server.store.session() as session:
        for number in range(count):
            session.add(
                CityRequest(
                    public_id=str(500_000 + number),
                    service_code="SBX-GR",
                    status="open",
                    requested=moment,
                    updated=moment,
                    lat=39.95,
                    long=-75.15,
                    description=f"graffiti {number}",
                )
            )
        session.commit()


@pytest.mark.parametrize("count", [500, 1000])
def test_a_sync_whose_window_is_whole_pages_completes(api, sandbox_server, count):
    set_dialects(sandbox_server.app, ("page_404", "page_cap"))
    city_changes(sandbox_server, count)
    report = pull_updates(api)
    assert report.seen == report.created == count
    state = db.session.get(SyncState, SYNC_KEY)
    assert state.high_water is not None and state.last_error is None
    assert pull_updates(api).created == 0  # and the next pass reads on from there


def test_a_thousand_tickets_are_a_thousand_requests(faulty_api, sandbox_server):
    # Every dialect at once, hiding new requests until published among them, and
    # 30% faults: 900 tickets with a point, 100 known by their address alone.
    api = faulty_api
    set_dialects(sandbox_server.app, ALL)
    refresh_services(api)
    codes = service_codes()
    plain = [
        codes[entry[0]]
        for entry in SERVICES
        if entry[3] == "realtime" and not any(q[3] for q in entry[6])
    ]
    for number in range(1000):
        located = number < 900
        queue_ticket(
            plain[number % len(plain)] if located else codes["SBX-AV"],
            lat=39.95 + number * 1e-5 if located else None,
            lon=-75.15 if located else None,
            address=None if located else f"{number} Market St",
            description=f"report {number}",
            commit=False,
        )
    db.session.commit()
    sandbox_server.faults(**FAULTS, seed=13)
    settle(api, sandbox_server)
    stored = city_requests(sandbox_server)
    refs = [row.description.rsplit("[ref ", 1)[1].rstrip("]") for row in stored]
    assert len(refs) == 1000 and len(set(refs)) == 1000  # none lost, none twice
    sent = db.session.scalars(select(Ticket)).all()
    assert {t.send_state for t in sent} == {"sent"} and all(t.city_id for t in sent)
    assert sorted(refs) == sorted(t.ref for t in sent)
    assert sum(not row.lat for row in stored) == 100
    faults = sandbox_server.app.extensions["sandbox_faults"]
    assert faults.served > 1300  # the faults really happened
    assert sum(t.attempts for t in sent) > 1000
