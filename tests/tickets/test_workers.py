"""`portal city worker` processes on real PostgreSQL: never twice, none lost on SIGKILL.

These always run on PostgreSQL (a server of their own), since row claiming with
SKIP LOCKED across processes is what they prove.
"""

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text

from portal import create_app
from portal.extensions import db
from portal.sandbox.store import CityRequest
from portal.tickets.models import Ticket
from portal.tickets.services import queue_ticket
from tests import pg
from tests.conftest import SANDBOX_KEY, TEST_CONFIG


@pytest.fixture(scope="module")
def worker_db():
    server = pg.start()
    url = pg.create_database(server, "portal_workers")
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    server.stop()


@pytest.fixture
def queue_on(worker_db):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": worker_db})
    engine = create_engine(worker_db)

    def queue(n):
        with app.app_context():
            for i in range(n):
                queue_ticket(
                    "SBX-DV", lat=39.95, lon=-75.15, description=f"dumpster {i}"
                )
            db.session.remove()

    yield queue
    with app.app_context():
        db.session.execute(
            text("TRUNCATE tickets, ticket_events RESTART IDENTITY CASCADE")
        )
        db.session.commit()
        db.engine.dispose()
    engine.dispose()


class Worker:
    def __init__(self, worker_db, sandbox_server, tmp_path, **settings):
        env = {
            **os.environ,
            "PORTAL_DATABASE_URL": worker_db,
            "PORTAL_INSTANCE_PATH": str(tmp_path),
            "PORTAL_SECRET_KEY": "worker-test",
            "PORTAL_CITY_URL": sandbox_server.endpoint,
            "PORTAL_CITY_API_KEY": SANDBOX_KEY,
            "PORTAL_CITY_WORKER_INTERVAL": "0.05",
            "PORTAL_CITY_SYNC_INTERVAL": "3600",
            "PORTAL_CITY_RETRY_BASE": "0.01",
            "PORTAL_CITY_RETRY_MAX": "0.05",
            "PORTAL_CITY_LEASE_SECONDS": "2",
            "PORTAL_CITY_TIMEOUT": "1",
            "PORTAL_CITY_SEND_BATCH": "10",
            **{f"PORTAL_{name}": value for name, value in settings.items()},
            "PYTHONUNBUFFERED": "1",
        }
        portal = os.path.join(os.path.dirname(sys.executable), "portal")
        self.process = subprocess.Popen(
            [portal, "city", "worker"], env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line)

    def sent(self) -> int:
        return sum(
            int(line.split("sent ", 1)[1].split(",")[0])
            for line in self.lines
            if line.startswith("sent ")
        )

    def stop(self, signum=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(signum)
        self.process.wait(timeout=30)
        self.reader.join(timeout=10)
        self.process.stdout.close()


def wait_until(condition, seconds=120):
    deadline = datetime.now(UTC) + timedelta(seconds=seconds)
    while not condition():
        assert datetime.now(UTC) < deadline, "timed out waiting"
        threading.Event().wait(0.1)  # polling a database with a deadline


def counter(url):
    engine = create_engine(url)

    def settled_and_total():
        with engine.connect() as conn:
            total = conn.scalar(select(func.count()).select_from(Ticket))
            done = conn.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.send_state == "sent")
            )
        return done, total

    return settled_and_total, engine


def stored_refs(sandbox_server) -> list[str]:
    with sandbox_server.store.session() as session:
        return [
            r.description.rsplit("[ref ", 1)[1].rstrip("]")
            for r in session.scalars(select(CityRequest))
        ]


def test_two_workers_never_send_a_ticket_twice(
    worker_db, queue_on, sandbox_server, tmp_path
):
    queue_on(300)
    sandbox_server.faults(latency_ms=5, drop=0.1, error=0.1, seed=3)
    progress, engine = counter(worker_db)
    workers = [Worker(worker_db, sandbox_server, tmp_path) for _ in range(2)]
    try:
        wait_until(lambda: progress() == (300, 300))
    finally:
        for worker in workers:
            worker.stop()
        engine.dispose()
    refs = stored_refs(sandbox_server)
    assert len(refs) == 300 and len(set(refs)) == 300
    assert all(worker.sent() > 0 for worker in workers), [w.lines[-3:] for w in workers]


def test_a_worker_killed_mid_run_loses_nothing(
    worker_db, queue_on, sandbox_server, tmp_path
):
    queue_on(150)
    sandbox_server.faults(latency_ms=20)
    progress, engine = counter(worker_db)
    first = Worker(worker_db, sandbox_server, tmp_path)
    try:
        wait_until(lambda: progress()[0] >= 30)
    finally:
        first.stop(signal.SIGKILL)
    assert progress()[0] < 150
    second = Worker(worker_db, sandbox_server, tmp_path)
    try:
        wait_until(lambda: progress() == (150, 150))
    finally:
        second.stop()
        engine.dispose()
    refs = stored_refs(sandbox_server)
    assert len(refs) == 150 and len(set(refs)) == 150
