"""A live, seeded portal for Schemathesis, once per actor.

The portal is built like the suite's ``app`` (``create_app`` with the test settings on
the run's database: an SQLite file, or PostgreSQL with ``--db=postgresql``) and served
over loopback by a threaded server. It holds what the API needs to reach real code:
the demo neighborhoods, the sandbox city's services (the in-process sandbox), a
resident, an admin, a captain, tickets, a thread with a reply, an event, a meeting and
a batch. The fixture is module-scoped and parametrized by actor, so every operation
runs against the same portal as one actor (nobody, the resident or the admin); the
tables are emptied after each actor, as the ``app`` fixture does after each test.
"""

import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import configuration as hypothesis_configuration
from werkzeug.serving import make_server

from tests.conftest import TEST_CONFIG, _empty_all_tables

ACTORS = ("anonymous", "resident", "admin")

# Points inside the demo neighborhoods.
FISHTOWN = (39.9730, -75.1290)
KENSINGTON = (39.9900, -75.1300)

# Generous limits: the fuzzer's requests must reach the code, not the limiter.
GENEROUS = "100000 per minute"

# Path parameter -> values that name a seeded row, for the portal being fuzzed (read
# by the schema's hook while cases are drawn).
KNOWN: dict[str, list] = {}


@dataclass
class Portal:
    url: str
    actor: str
    headers: dict
    own_token_id: int | None = None  # never revoked by the run
    own_user_id: int | None = None  # never restricted by the run
    errors: dict[str, str] = field(default_factory=dict)  # request id -> traceback


class ServerErrors(logging.Handler):
    """Keeps each logged traceback under the request id that the 500's body names."""

    def __init__(self, into: dict):
        super().__init__(level=logging.ERROR)
        from portal.logs import RequestIdFilter

        self.addFilter(RequestIdFilter())
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        self.into = into

    def emit(self, record):
        self.into[getattr(record, "request_id", "-")] = self.format(record)


def pytest_configure(config):
    # Hypothesis keeps caches (constants of the code under test, Unicode tables) in
    # its home, by default .hypothesis/ in the working directory; this conftest is
    # loaded before the fuzz module is collected, where the first cases are drawn.
    home = tempfile.mkdtemp(prefix="portal-hypothesis-")
    hypothesis_configuration.set_hypothesis_home_dir(home)
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


def fuzz_settings(database_url: str, tmp) -> dict:
    return {
        **TEST_CONFIG,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "UPLOAD_DIR": str(tmp / "uploads"),
        # The in-process sandbox city: its services, no seeded requests.
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp}/city.db",
        "SANDBOX_SEED_COUNT": 0,
        "SANDBOX_BATCH_DELAY": 0,
        "FILING_LIMIT": GENEROUS,
        "FORUM_POST_LIMIT": GENEROUS,
        "FORUM_POST_LIMIT_NEW": GENEROUS,
        "FORUM_FLAG_LIMIT": GENEROUS,
    }


def seed(portal: Portal) -> None:
    """The rows the operations act on; ``KNOWN`` names them by path parameter."""
    from portal.areas.models import Area
    from portal.areas.services import save_areas
    from portal.auth.services import create_token, grant_role, register_user
    from portal.cityapi import get_city_api
    from portal.demo.geography import demo_areas
    from portal.events.services import EventInput, create_event
    from portal.extensions import db
    from portal.forums.services import create_thread, first_post_id, reply
    from portal.liaisons.bulk import file_batch
    from portal.liaisons.services import create_meeting
    from portal.tickets.city_services import refresh_services
    from portal.tickets.services import queue_ticket
    from tests.conftest import PASSWORD

    save_areas(demo_areas())
    refresh_services(get_city_api())
    fishtown = db.session.scalar(db.select(Area).where(Area.slug == "fishtown"))

    def person(email, name):
        return register_user(name, email, PASSWORD, fishtown)

    resident = person("resident@example.org", "Rae")
    admin = person("admin@example.org", "Ada")
    grant_role(admin, "admin")
    captain = person("captain@example.org", "Cap")
    grant_role(captain, "captain", fishtown)
    users = {"resident": resident, "admin": admin}
    spares = []
    for user in (resident, admin):
        # A spare token each: DELETE /me/tokens/{id} has one of its own to revoke.
        spares.append(create_token(user, "spare")[0].id)
    if portal.actor in users:
        token, secret = create_token(users[portal.actor], "fuzz")
        portal.headers["Authorization"] = f"Bearer {secret}"
        portal.own_token_id = token.id
        portal.own_user_id = users[portal.actor].id

    now = datetime.now(UTC)
    ticket = queue_ticket(
        "SBX-SD",
        lat=FISHTOWN[0],
        lon=FISHTOWN[1],
        description="Pothole in front of the school",
        filed_by=resident,
        area=fishtown,
    )
    failed = queue_ticket(
        "SBX-GR",
        lat=KENSINGTON[0],
        lon=KENSINGTON[1],
        description="Graffiti on the corner store",
        filed_by=captain,
    )
    failed.send_state = "failed"
    db.session.commit()
    thread = create_thread(resident, fishtown, "Alley lights", "Out since *Friday*")
    answer = reply(captain, thread.id, "Same on our block")
    event = create_event(
        resident,
        EventInput(
            kind="cleanup",
            title="Saturday cleanup",
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=2),
            place="Palmer Park",
            lat=FISHTOWN[0],
            lon=FISHTOWN[1],
            description="Gloves provided",
            capacity=20,
        ),
    )
    meeting = create_meeting(
        captain,
        fishtown,
        "Fishtown block meeting",
        now - timedelta(days=1),
        "Rec center",
        ["Pothole on the 1200 block of Girard Ave"],
    )
    row = {
        "service_code": "SBX-SD",
        "description": "Broken curb",
        "lat": FISHTOWN[0] + 0.002,
        "lon": FISHTOWN[1],
    }
    batch, _ = file_batch(captain, [row], "api", meeting)
    KNOWN.clear()
    KNOWN.update(
        {
            "area_slug": ["fishtown", "kensington"],
            "ticket_id": [ticket.id, failed.id],
            "thread_id": [thread.id],
            "post_id": [first_post_id(thread), answer.id],
            "user_id": [resident.id, admin.id, captain.id],
            "token_id": spares,
            "event_id": [event.id],
            "meeting_id": [meeting.id],
            "batch_id": [batch.id],
        }
    )


@pytest.fixture(scope="module", params=ACTORS)
def portal(request, database_url, tmp_path_factory):
    """The seeded portal on a loopback port, fuzzed as ``request.param``."""
    from portal import create_app
    from portal.extensions import db

    tmp = tmp_path_factory.mktemp("fuzz")
    app = create_app(fuzz_settings(database_url, tmp))
    live = Portal(url="", actor=request.param, headers={})
    handler = ServerErrors(live.errors)
    logger = logging.getLogger("portal")
    logger.addHandler(handler)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    live.url = f"http://127.0.0.1:{server.server_port}"
    try:
        with app.app_context():
            try:
                seed(live)
                db.session.remove()
                yield live
            finally:
                # The server stops first: no request holds a row while tables empty.
                server.shutdown()
                thread.join(timeout=10)
                server.server_close()
                KNOWN.clear()
                db.session.rollback()
                _empty_all_tables()
                db.session.remove()
                db.engine.dispose()
                app.extensions["sandbox"].store.dispose()
    finally:
        logger.removeHandler(handler)
