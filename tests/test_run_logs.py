"""Operators see errors: under `portal run` (which upgrades the database first, where
Alembic's logging set-up once silenced every logger) a 500 and a failed worker pass
each leave a traceback, and the error page names the request id its line carries."""

import signal
import sqlite3
import urllib.error
import urllib.request

import pytest

from tests.processes import PORTAL, Child, free_port


@pytest.fixture
def portal_run(tmp_path):
    port = free_port()
    env = {
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PORTAL_CITY_WORKER_INTERVAL": "0.2",
        "PORTAL_EVENTS_INTERVAL": "0.2",
        "PORTAL_WORKER_RETRY_FAILED": "0.2",
        "PORTAL_SANDBOX_SEED_COUNT": "50",
    }
    portal = Child([PORTAL, "run", "--port", str(port)], env)
    try:
        portal.output.wait_for("Booting worker with pid")  # once the port is bound
        yield f"http://127.0.0.1:{port}", portal.output, tmp_path / "run.db"
    finally:
        portal.stop(signal.SIGINT)


def test_a_server_error_and_a_failed_worker_pass_leave_tracebacks(portal_run):
    base, output, database = portal_run
    # A real fault, not a test-only route: a table vanishes under the running portal.
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE rsvps")
        connection.execute("DROP TABLE events")
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(base + "/events/", timeout=30)
    assert answer.value.code == 500
    page = answer.value.read().decode()
    request_id = answer.value.headers["X-Request-ID"]
    assert request_id and f"Reference {request_id}" in page
    logged = output.wait_for(
        rf"ERROR portal\.errors \[request {request_id}\] unhandled error on GET "
        rf"/events/\nTraceback \(most recent call last\):.*no such table: events"
    )
    assert logged
    output.wait_for(
        r"ERROR portal\.worker \[request -\] worker duty event-\w+ failed\n"
        r"Traceback \(most recent call last\):.*no such table: (events|rsvps)"
    )
