"""GET /api/v1/tickets answered from the process's memo: a repeat costs no ticket
query, and any change to what an answer shows (from this process or any other) is
in the next answer; what the map never shows leaves the memo alone."""

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Column, create_engine, event, select, text, update
from sqlalchemy.sql.visitors import iterate

from portal.demo.tickets import load_tickets
from portal.extensions import db
from portal.map import stamps
from portal.map.query import SUMMARY_COLUMNS, TicketFilter, filtered
from portal.memo import Answer, Memo, answers
from portal.tickets.models import Ticket
from portal.tickets.services import me_too, queue_ticket
from tests.map.conftest import FISHTOWN, offset

POINT = f"/api/v1/tickets?near={FISHTOWN[0]},{FISHTOWN[1]}"
NEAR = POINT + "&radius=1000"
VIEW = "/api/v1/tickets?bbox=-75.2,39.9,-75.0,40.05&zoom=12"
STREET = "/api/v1/tickets?bbox=-75.14,39.96,-75.12,39.98&zoom=17&status=any"
URLS = (NEAR, VIEW, STREET)


@contextmanager
def statements():
    """The SQL the app's engine runs meanwhile."""
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def ticket_reads(seen: list[str]) -> list[str]:
    return [s for s in seen if "change_stamps" not in s]


def features(client, url=NEAR) -> list[dict]:
    answer = client.get(url)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()["features"]


def stamp() -> int:
    db.session.rollback()  # a fresh read, not the test's open transaction
    return stamps.read()


@pytest.fixture
def shown(client, make_ticket, services):
    """A ticket on the map, every URL's answer already memoized."""
    ticket = make_ticket(description="Pothole", address="1200 Frankford Ave")
    for url in URLS:
        features(client, url)
    return ticket


def test_a_repeated_query_is_answered_without_reading_tickets(client, shown):
    for url in URLS:
        with statements() as seen:
            again = client.get(url)
        assert again.status_code == 200
        assert ticket_reads(seen) == [], url
        assert any("change_stamps" in s for s in seen)
    assert features(client)[0]["id"] == shown.id


def test_the_same_query_written_otherwise_is_the_same_entry(client, shown):
    # Defaults spelled out, zoom that `near` does not use: the parsed query is the key.
    with statements() as seen:
        client.get(NEAR + "&limit=500&zoom=9&status=open")
    assert ticket_reads(seen) == []


def test_a_new_ticket_is_in_the_next_answer(client, shown):
    filed = queue_ticket(
        "SBX-SD", lat=FISHTOWN[0], lon=FISHTOWN[1] + 0.001, description="Sinkhole"
    )
    ids = [f["id"] for f in features(client)]
    assert filed.id in ids
    [cluster] = features(client, VIEW)
    assert cluster["properties"]["count"] == 2


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("description", "Now a crater"),
        ("address", "1300 Frankford Ave"),
        ("service_name", "Street Defect"),
        ("status", "in progress"),
    ],
)
def test_an_edit_is_in_the_next_answer(client, shown, column, value):
    url = NEAR + "&status=any"
    assert features(client, url)[0]["properties"][column] != value
    setattr(shown, column, value)
    db.session.commit()
    assert features(client, url)[0]["properties"][column] == value


def test_a_closed_ticket_leaves_every_open_answer(client, shown):
    shown.status = "closed"
    db.session.commit()
    assert features(client) == [] and features(client, VIEW) == []


def test_a_me_too_is_in_the_next_answer(client, shown, make_user):
    assert features(client)[0]["properties"]["supporters"] == 0
    me_too(make_user(), shown.id)
    assert features(client)[0]["properties"]["supporters"] == 1


def test_a_bulk_update_moves_the_stamp_and_every_answer(client, shown, make_ticket):
    make_ticket(*offset(*FISHTOWN, north_m=100))
    before = stamp()
    features(client)
    db.session.execute(update(Ticket).values(status="closed"))
    db.session.commit()
    assert stamp() > before
    assert features(client) == []
    assert features(client, VIEW) == []


def test_a_send_state_change_keeps_the_stamp_and_the_memo(client, shown):
    before = stamp()
    shown.send_state, shown.attempts, shown.last_error = "sending", 3, "timeout"
    db.session.commit()
    db.session.execute(update(Ticket).values(next_attempt_at=datetime.now(UTC)))
    db.session.commit()
    assert stamp() == before
    with statements() as seen:
        client.get(NEAR)
    assert ticket_reads(seen) == []


def test_a_write_from_another_process_is_seen(client, shown, database_url):
    # Another web process or a worker: its own engine, its own connections.
    other = create_engine(database_url)
    with other.begin() as connection:
        connection.execute(
            text("UPDATE tickets SET supporters = 7 WHERE id = :id"), {"id": shown.id}
        )
    other.dispose()
    with statements() as seen:
        assert features(client)[0]["properties"]["supporters"] == 7
    assert ticket_reads(seen) != []


def test_bad_input_is_still_refused_naming_the_field(client, shown):
    for url, field in (
        (POINT + "&radius=9000", "radius"),
        (NEAR + "&service_code=NOPE", "service_code"),
        (NEAR + "&area=nowhere", "area"),
    ):
        for _ in range(2):
            answer = client.get(url)
            assert answer.status_code == 422, url
            assert field in answer.get_json()["error"]["fields"], url


def test_a_memoized_answer_still_answers_304(client, shown):
    first = client.get(NEAR)
    kept = client.get(NEAR)
    assert kept.headers["ETag"] == first.headers["ETag"]
    assert kept.data == first.data
    assert kept.mimetype == "application/geo+json"
    repeat = client.get(NEAR, headers={"If-None-Match": first.headers["ETag"]})
    assert repeat.status_code == 304 and repeat.data == b""
    assert "public" in repeat.headers["Cache-Control"]


def test_the_demo_bulk_load_moves_the_stamp_and_keeps_the_triggers(
    client, shown, make_area
):
    make_area("Fishtown", bounds=(-75.14, 39.96, -75.12, 39.98))
    every = VIEW + "&status=any"
    assert sum(f["properties"]["count"] for f in features(client, every)) == 1
    before = stamp()
    load_tickets(50)
    assert stamp() > before
    assert sum(f["properties"]["count"] for f in features(client, every)) == 51
    loaded = stamp()
    shown.status = "closed"
    db.session.commit()
    assert stamp() > loaded  # the triggers are back after the load


@pytest.mark.parametrize("app_overrides", [{"ANSWER_MEMO_BYTES": 0}])
def test_zero_bytes_turns_the_memo_off(client, shown, app_overrides):
    assert answers() is None
    with statements() as seen:
        features(client)
    assert ticket_reads(seen) != []


def test_the_stamp_watches_every_column_an_answer_shows_or_filters_on():
    every = TicketFilter(("a", "b"), ("c",), datetime.now(UTC), 1)
    query = filtered(select(*SUMMARY_COLUMNS), every)
    found = (c for c in iterate(query) if isinstance(c, Column))
    used = {c.name for c in found if c.table is Ticket.__table__}
    assert used - {"id"} == set(stamps.MAP_COLUMNS)


def test_the_memo_is_bounded_by_entries_and_bytes():
    memo = Memo(max_bytes=10_000, max_entries=3)
    for n in range(5):
        memo.put(n, Answer(b"x" * 100, "e", "text/plain"))
    assert len(memo) == 3 and memo.get(0) is None and memo.get(4) is not None
    memo.get(2)  # used: the next to go is 3
    memo.put("big", Answer(b"x" * 8000, "e", "text/plain"))
    assert memo.get(2) is not None and memo.get(3) is None
    assert memo.bytes <= 10_000
    memo.put("huge", Answer(b"x" * 20_000, "e", "text/plain"))
    assert memo.get("huge") is None and memo.get("big") is not None
