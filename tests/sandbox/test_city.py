"""The sandbox city on its own: seeding, ticking like a city, tokens that take time."""

import random
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from portal.sandbox import city
from portal.sandbox.seed import seed
from portal.sandbox.store import Store


def test_seeded_requests_are_plausible(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/city.db")
    assert seed(store, 500, random.Random(1)) == 500
    rows = city.query_requests(store, {"page_size": "1000", "status": "open,closed"})
    assert len(rows) == 500
    assert {r.status for r in rows} == {"open", "closed"}
    assert all(39.8 < r.lat < 40.2 and -75.3 < r.long < -74.9 for r in rows)
    assert all(r.requested <= r.updated for r in rows)
    store.dispose()


def test_tick_moves_open_requests_along(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/city.db")
    seed(store, 300, random.Random(2))
    before = {r.public_id: (r.status, r.status_notes) for r in city.query_requests(
        store, {"page_size": "1000", "status": "open"})}  # fmt: skip
    rng = random.Random(3)
    totals = {"progressed": 0, "closed": 0}
    for _ in range(5):
        done = city.tick(store, rng, share=0.5)
        totals["progressed"] += done["progressed"]
        totals["closed"] += done["closed"]
    assert totals["progressed"] > 0 and totals["closed"] > 0
    after = {r.public_id: r for r in city.query_requests(
        store, {"page_size": "1000", "status": "open,closed"})}  # fmt: skip
    moved = [
        after[i]
        for i in before
        if (after[i].status, after[i].status_notes) != before[i]
    ]
    assert moved and all(r.updated > r.requested for r in moved)
    closed = [r for r in moved if r.status == "closed"]
    assert closed and all(r.status_notes in city.CLOSING_NOTES for r in closed)
    store.dispose()


def test_a_batch_token_gets_its_id_only_when_processed(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/city.db")
    form = MultiDict({"service_code": "SBX-AV", "address_string": "1 Market St"})
    row = city.create_request(store, form, batch_delay=60)
    assert row.token and row.public_id is None
    assert city.find_token(store, row.token).public_id is None
    assert city.resolve_due_tokens(store, at=city.now() + timedelta(seconds=61)) == 1
    assert city.find_token(store, row.token).public_id
    store.dispose()


def test_bad_filters_are_refused_with_reasons(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/city.db")
    for args, words in (
        ({"start_date": "2026-01-01T00:00:00"}, "timezone"),
        ({"updated_after": "soon"}, "W3C"),
        ({"page": "0"}, "page must be between"),
    ):
        with pytest.raises(city.Refused) as refused:
            city.query_requests(store, args)
        assert words in refused.value.errors[0][1]
    store.dispose()


def test_an_older_sandbox_db_gains_the_new_columns(tmp_path):
    # create_all adds no column to an existing table; a sandbox.db from before the
    # hidden_until_published dialect must still open.
    url = f"sqlite:///{tmp_path}/city.db"
    store = Store(url)
    seed(store, 5, random.Random(4))
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE sandbox_requests DROP COLUMN hidden")
    store.dispose()
    store = Store(url)
    rows = city.query_requests(store, {"status": "open,closed"})
    assert len(rows) == 5 and not any(r.hidden for r in rows)
    store.dispose()
