"""Ticket tests talk to a real sandbox city over loopback HTTP, with fast retries."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from portal.cityapi import build_client, get_city_api
from portal.extensions import db
from portal.sandbox.store import CityRequest
from portal.tickets.models import Ticket
from portal.tickets.sender import send_due
from tests.conftest import SANDBOX_KEY

# What this city signs its pushed updates with (a real city's own, never the demo key).
PUSH_KEY = "push-key-of-the-test-city"


@pytest.fixture
def app_overrides(sandbox_server):
    return {
        "CITY_URL": sandbox_server.endpoint,
        "CITY_API_KEY": SANDBOX_KEY,
        "CITY_PUSH_KEY": PUSH_KEY,
        # Patient by default: the sandbox shares this interpreter, so a busy machine can
        # slow an answer by seconds; tests of hanging requests use `impatient_api`.
        "CITY_TIMEOUT": 10.0,
        # Backoff timings are configuration: milliseconds here, minutes in production.
        "CITY_RETRY_BASE": 0.001,
        "CITY_RETRY_MAX": 0.005,
        "CITY_TOKEN_POLL": 0,
        "CITY_MAX_ATTEMPTS": 40,
    }


@pytest.fixture
def api(app):
    return get_city_api()


@pytest.fixture
def impatient_api(app):
    """A client giving up after 0.15 s, for tests where the city hangs on purpose
    (and for nothing that must succeed: a busy machine can take that long)."""
    patient = app.config["CITY_TIMEOUT"]
    app.config["CITY_TIMEOUT"] = 0.15
    client = build_client(app)
    yield client
    client.close()
    app.config["CITY_TIMEOUT"] = patient


def city_requests(sandbox_server) -> list[CityRequest]:
    with sandbox_server.store.session() as session:
        return list(session.scalars(select(CityRequest).order_by(CityRequest.id)))


def outbox_open() -> int:
    """Tickets not yet settled: queued, sending, or sent but still awaiting an id."""
    return db.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.send_state.in_(("queued", "sending"))
            | ((Ticket.send_state == "sent") & Ticket.city_id.is_(None))
        )
    )


def drain(api, seconds: float = 120, worker: str = "test") -> int:
    """Run the sender until the outbox settles; answer how many passes it took.

    It fails when the outbox stops shrinking for ``seconds``: a hang, not a busy
    machine, which only makes every pass slower.
    """
    passes, left = 0, outbox_open()
    stalled_since = datetime.now(UTC)
    while left:
        assert datetime.now(UTC) - stalled_since < timedelta(seconds=seconds), (
            f"the outbox stopped settling with {left} tickets open"
        )
        send_due(api, worker=worker, limit=200)
        db.session.expire_all()
        passes += 1
        now_left = outbox_open()
        if now_left < left:
            stalled_since = datetime.now(UTC)
        left = now_left
    return passes


def break_paths(sandbox_server, answers: dict[str, tuple[int, str]]):
    """Make the sandbox city answer these paths (endings) with a status and body."""
    inner = sandbox_server.app.wsgi_app

    def broken(environ, start_response):
        path = environ.get("PATH_INFO", "")
        for ending, (status, body) in answers.items():
            if path.endswith(ending):
                kind = "application/json" if body.startswith("{") else "text/html"
                return Response(body, status, content_type=kind)(
                    environ, start_response
                )
        return inner(environ, start_response)

    sandbox_server.app.wsgi_app = broken
