"""Fixtures: the app on SQLite or a real PostgreSQL, clients, a CSRF-aware auth helper,
factories, and a guard that fails any connection leaving the machine."""

import ipaddress
import os
import re
import socket
import uuid

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from portal import create_app
from portal.extensions import db
from tests import pg

SHARED_DATA = os.path.normpath(
    os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
)


def pytest_addoption(parser):
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="database the tests run against (PostgreSQL is started on loopback)",
    )


def pytest_collection_modifyitems(config, items):
    # Any test that builds the app touches the database: those run again on PostgreSQL.
    for item in items:
        if "app" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)
    # A test of PostgreSQL's own behaviour belongs to the PostgreSQL run alone: it is
    # left out of the SQLite run (deselected, as -m does), never run to be skipped.
    if config.getoption("--db") != "postgresql":
        kept = [item for item in items if not item.get_closest_marker("postgresql")]
        if len(kept) != len(items):
            config.hook.pytest_deselected(
                items=[item for item in items if item.get_closest_marker("postgresql")]
            )
            items[:] = kept


# --- the network guard ---

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check_address(sock, address):
    if sock.family == socket.AF_UNIX:
        return
    host = address[0]
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        if host == "localhost":
            return
    raise AssertionError(f"test tried to connect outside this machine: {address!r}")


def _guarded_connect(self, address):
    _check_address(self, address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address(self, address)
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def network_guard():
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


# --- the database ---

TEST_CONFIG = {
    "TESTING": True,
    "SECRET_KEY": "test-secret-key-not-for-production",
    # The slow scrypt hash is production's; tests hash hundreds of passwords.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
}


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    """A migrated, empty database for the run: an SQLite file, or a real PostgreSQL."""
    server = None
    if request.config.getoption("--db") == "postgresql":
        server = pg.start()
    try:  # a failed migration must not leave the server running
        if server:
            url = pg.create_database(server, "portal_test")
        else:
            url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "portal.db")
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url
    finally:
        if server:
            server.stop()


@pytest.fixture(scope="module")
def own_database_url(request, database_url, tmp_path_factory):
    """An empty database of the module's own, on the run's kind of database, for
    portal processes a test starts (they migrate it); removed afterwards."""
    if request.config.getoption("--db") != "postgresql":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("own") / "portal.db")
        return
    name = f"own_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(database_url).set(database=name).render_as_string(False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for a transaction it ended to break one


def _empty_all_tables() -> int:
    """Empty every table; answer in how many attempts (PostgreSQL may need more)."""
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name != "postgresql":
        for table in tables:
            db.session.execute(table.delete())
        db.session.commit()
        return 1
    names = ", ".join(f'"{t.name}"' for t in tables)
    # A live server may still be answering a page the test has just closed (a socket's
    # connect looks its session up): its reads and the TRUNCATE, taking their locks in
    # other orders, can deadlock, and PostgreSQL then fails one of the two, which is
    # to be run again. A lock held for good fails here instead of hanging the run.
    attempt = 1
    while True:
        try:
            db.session.execute(text("SET LOCAL lock_timeout = '15s'"))
            db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            db.session.commit()
            return attempt
        except DBAPIError as error:
            db.session.rollback()
            if getattr(error.orig, "sqlstate", None) != DEADLOCK or attempt == 3:
                raise
            attempt += 1


class PortalTestClient(FlaskClient):
    """Gives every request its own app context, as a server would.

    A request made inside the test's app context would reuse it, and its ``g``, where
    Flask-Login and Flask-WTF cache the user and the CSRF token between requests.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app with extra settings on the shared test database."""
    apps = []

    def build(**overrides):
        config = {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "UPLOAD_DIR": str(tmp_path / "uploads"),
            **overrides,
        }
        app = create_app(config)
        app.test_client_class = PortalTestClient
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app_overrides():
    """Settings for the ``app`` fixture; test modules override this fixture."""
    return {}


@pytest.fixture
def app(make_app, app_overrides):
    app = make_app(**app_overrides)
    with app.app_context():
        yield app
        db.session.rollback()
        _empty_all_tables()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# --- factories ---

PASSWORD = "correct horse battery"


@pytest.fixture
def make_area(app):
    from shapely.geometry import box

    from portal.areas import services

    def build(name="Test Area", bounds=(-75.20, 39.90, -75.10, 40.00)):
        area = services.upsert_area(name, box(*bounds))
        db.session.commit()
        return area

    return build


@pytest.fixture
def make_user(app, make_area):
    from portal.areas import services as areas
    from portal.auth import services

    def build(
        role="resident", area=None, email=None, password=PASSWORD, name="Neighbor"
    ):
        home = areas.list_areas()[0] if areas.list_areas() else make_area()
        user = services.register_user(
            name, email or f"{uuid.uuid4().hex[:10]}@example.org", password, home
        )
        if role != "resident":
            services.grant_role(user, role, area)
        return user

    return build


# --- the browser-like client helper ---

CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client, path="/auth/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=PASSWORD, next_url=None):
        token = csrf_token(self.client)
        path = "/auth/login" + (f"?next={next_url}" if next_url else "")
        return self.client.post(
            path, data={"email": email, "password": password, "csrf_token": token}
        )

    def logout(self):
        token = csrf_token(self.client, "/")
        return self.client.post("/auth/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def shared_data():
    assert os.path.isdir(SHARED_DATA), "../shared/data must sit beside the checkout"
    return SHARED_DATA


# --- the sandbox city over real HTTP ---

SANDBOX_KEY = "test-city-key"


class SandboxServer:
    def __init__(self, app, url):
        self.app = app
        self.url = url
        self.endpoint = url + "/open311/v2"
        self.store = app.extensions["sandbox_store"]

    def faults(self, **plan):
        from portal.sandbox.server import set_faults

        return set_faults(self.app, **plan)

    def client(self, **options):
        from portal.cityapi.client import Open311Client

        options.setdefault("api_key", SANDBOX_KEY)
        options.setdefault("timeout", 2.0)
        return Open311Client(self.endpoint, **options)


@pytest.fixture
def sandbox_server(tmp_path):
    """A fresh, empty sandbox city served by a threaded server on a loopback port."""
    import threading

    from werkzeug.serving import make_server

    from portal.sandbox.server import create_sandbox_app

    sandbox = create_sandbox_app(
        {
            "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path}/city.db",
            "SANDBOX_API_KEY": SANDBOX_KEY,
            "SANDBOX_BATCH_DELAY": 0,
            "SANDBOX_SEED_COUNT": 0,
        }
    )
    server = make_server("127.0.0.1", 0, sandbox, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield SandboxServer(sandbox, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()
    sandbox.extensions["sandbox_store"].dispose()
