"""What a deployment checks and trusts: /healthz (the database, Redis and the worker's
last pass, in words a monitor reads and nothing more; the worker records each duty's
pass), and forwarded addresses only behind a declared proxy."""

import socket
import threading
from datetime import UTC, datetime, timedelta

from portal import create_app
from portal.extensions import db
from portal.health import WorkerPass, record_pass
from portal.worker import run_worker
from tests.conftest import TEST_CONFIG


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


def test_no_worker_yet_is_degraded_not_failing(client):
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "unused", "worker": "stale"},
    }
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers


def test_a_recent_pass_is_ok_and_an_old_one_stale(app, client):
    record_pass("send", "host:1:1", ok=True)
    assert client.get("/healthz").json["status"] == "ok"
    row = db.session.get(WorkerPass, "send")
    row.last_ok_at = datetime.now(UTC) - timedelta(seconds=301)
    db.session.commit()
    answer = client.get("/healthz").json
    assert answer["status"] == "degraded" and answer["checks"]["worker"] == "stale"
    # A failed pass is recorded too, and is no proof of life.
    record_pass("send", "host:1:1", ok=False)
    assert client.get("/healthz").json["checks"]["worker"] == "stale"
    assert db.session.get(WorkerPass, "send").last_failed_at is not None


def test_redis_away_fails_without_saying_where_it_is(make_app):
    port = closed_port()
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{port}/0")
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.json["status"] == "failing"
    assert answer.json["checks"]["redis"] == "failing"
    assert str(port) not in answer.get_data(as_text=True)


def test_a_database_that_does_not_answer_fails(tmp_path):
    missing = tmp_path / "no-such-folder" / "portal.db"
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{missing}"})
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 503
    assert answer.json == {
        "status": "failing",
        "checks": {"database": "failing", "redis": "unused", "worker": "failing"},
    }
    assert "no-such-folder" not in answer.get_data(as_text=True)


def test_the_worker_records_every_duty_it_runs(app):
    app.config.update(CITY_WORKER_INTERVAL=0.05, EVENTS_INTERVAL=0.05)
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(app, stop, lambda _: None))
    worker.start()
    deadline = datetime.now(UTC) + timedelta(seconds=120)
    try:
        while True:
            db.session.expire_all()
            names = {row.duty for row in db.session.scalars(db.select(WorkerPass))}
            if {"city-send", "event-reminders"} <= names:
                break
            assert datetime.now(UTC) < deadline, f"passes recorded: {names}"
            threading.Event().wait(0.05)  # polling the database, with a deadline
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()


def test_forwarded_addresses_count_only_behind_a_declared_proxy(make_app):
    seen = {}

    def remember():
        from flask import request

        seen["address"], seen["secure"] = request.remote_addr, request.is_secure

    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    for hops, address, secure in ((0, "127.0.0.1", False), (1, "203.0.113.9", True)):
        app = make_app(PROXY_HOPS=hops)
        app.before_request(remember)
        app.test_client().get("/healthz", headers=headers)
        assert (seen["address"], seen["secure"]) == (address, secure)
