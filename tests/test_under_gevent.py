"""`portal run` serves as production does, under gevent, and what it does through
patched sockets works: the database driver (SQLite, or psycopg in the PostgreSQL
pass), the worker's httpx calls to the city, and Flask-Mail's SMTP."""

import re

import httpx
import pytest

from tests.mailbox import inbox  # noqa: F401
from tests.processes import PORTAL, Child, free_port, wait_until

pytestmark = pytest.mark.db  # runs again on PostgreSQL, psycopg under gevent

RESIDENT = "resident@example.org"


@pytest.fixture
def portal_run(tmp_path, own_database_url, inbox):  # noqa: F811
    port = free_port()
    env = {
        "PORTAL_DATABASE_URL": own_database_url,
        "PORTAL_INSTANCE_PATH": str(tmp_path),
        "PORTAL_SECRET_KEY": "gevent-test-secret-not-for-production",
        "PORTAL_SESSION_COOKIE_SECURE": "false",
        "PORTAL_CITY_WORKER_INTERVAL": "0.2",
        "PORTAL_SANDBOX_SEED_COUNT": "20",
        "PORTAL_MAIL_SERVER": "127.0.0.1",
        "PORTAL_MAIL_PORT": str(inbox.port),
        "PORTAL_MAIL_DEFAULT_SENDER": "portal@example.org",
        "PORTAL_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    portal = Child([PORTAL, "run", "--port", str(port)], env)
    try:
        portal.output.wait_for("Using worker: gevent")
        portal.output.wait_for("Booting worker with pid")
        yield f"http://127.0.0.1:{port}", portal
    finally:
        portal.stop()


def test_filing_sending_and_mail_work_under_gevent(portal_run, inbox):  # noqa: F811
    base, portal = portal_run
    with httpx.Client(base_url=base, timeout=30) as browser:
        # Flask-Mail through a patched socket: a reset link reaches the SMTP server.
        form = browser.get("/auth/reset")
        assert form.status_code == 200
        token = re.search(r'name="csrf_token" [^>]*value="([^"]+)"', form.text)
        answer = browser.post(
            "/auth/reset", data={"csrf_token": token.group(1), "email": RESIDENT}
        )
        assert answer.status_code == 200, answer.text
        wait_until(lambda: inbox.to(RESIDENT), "the reset mail")
        assert "/auth/reset/" in inbox.to(RESIDENT)[0]

        # The worker's duties run as greenlets beside the server: the ticket filed
        # here goes to the (mounted sandbox) city over httpx, and comes back sent.
        signed_in = browser.post(
            "/auth/login",
            data={
                "csrf_token": _csrf(browser, "/auth/login"),
                "email": RESIDENT,
                "password": "portal-demo-2026",
            },
        )
        assert signed_in.status_code in (200, 302, 303), signed_in.text
        headers = {"X-CSRFToken": _csrf(browser, "/")}
        # The worker's first pass fetches the city's services; filing needs them.
        wait_until(
            lambda: "SBX-DV" in browser.get("/api/v1/services").text,
            "the city's services",
        )
        filed = browser.post(
            "/api/v1/tickets",
            json={
                "service_code": "SBX-DV",
                "lat": 39.9526,
                "lon": -75.1652,
                "description": "a dumpster over the sidewalk",
                "not_duplicate": True,
            },
            headers=headers,
        )
        assert filed.status_code == 202, filed.text
        ticket_id = filed.json()["id"]

        def sent():
            ticket = browser.get(f"/api/v1/tickets/{ticket_id}").json()
            return ticket["send_state"] == "sent" and ticket["city_id"]

        assert wait_until(sent, "the ticket to be sent")
    assert portal.alive()
    assert "Traceback" not in portal.output.text


def _csrf(browser: httpx.Client, path: str) -> str:
    page = browser.get(path).text
    found = re.search(r'name="csrf_token" [^>]*value="([^"]+)"', page) or re.search(
        r'<meta name="csrf-token" content="([^"]+)"', page
    )
    assert found, f"no CSRF token on {path}"
    return found.group(1)
