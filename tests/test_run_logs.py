"""Operators see errors: under `portal run` (which upgrades the database first, where
Alembic's logging set-up once silenced every logger) a 500 and a failed worker pass
each leave a traceback, and the error page names the request id its line carries."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from tests.browser.test_run import free_port


class Output:
    """A child's output as it arrives, with a wait for a pattern (no sleeping)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.reader.start()

    def _read(self, stream):
        for line in stream:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.lines.append("")  # end of output
            self.changed.notify_all()

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        with self.changed:
            found = None

            def seen():
                nonlocal found
                found = re.search(pattern, self.text, re.S)
                return found or (self.lines and self.lines[-1] == "")

            self.changed.wait_for(seen, timeout)
        assert found, f"{pattern!r} never appeared in:\n{self.text[-4000:]}"
        return found


@pytest.fixture
def portal_run(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PORTAL_CITY_WORKER_INTERVAL": "0.2",
        "PORTAL_EVENTS_INTERVAL": "0.2",
        "PORTAL_WORKER_RETRY_FAILED": "0.2",
        "PORTAL_SANDBOX_SEED_COUNT": "50",
        "PYTHONUNBUFFERED": "1",
    }
    portal = os.path.join(os.path.dirname(sys.executable), "portal")
    process = subprocess.Popen(
        [portal, "run", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = Output(process.stdout)
    try:
        output.wait_for("Booting worker with pid")  # gunicorn's, once the port is bound
        yield f"http://127.0.0.1:{port}", output, tmp_path / "run.db"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output.reader.join(timeout=10)
        process.stdout.close()


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
