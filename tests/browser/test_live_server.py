"""The server the browser tests run the portal on: a connection the browser resets
just as its response arrives leaves no file open behind it, and what it still answers
after a test cannot keep the tables from being emptied."""

import gc
import socket
import struct
import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from werkzeug.serving import make_server

from portal.auth.models import User
from portal.extensions import db
from tests.browser.conftest import WAIT_MS, closed_when_sent
from tests.conftest import DEADLOCK, _empty_all_tables

# SO_LINGER on with no time: closing the socket resets the connection, as Chromium
# does when a page goes away with a response still unread.
RESET_ON_CLOSE = struct.pack("ii", 1, 0)
FAVICON = b"GET /static/favicon.svg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def test_a_reset_connection_leaves_no_file_open(app):
    server = make_server("127.0.0.1", 0, closed_when_sent(app), threaded=True)
    server.daemon_threads = False  # so that server_close() waits for every request
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", server.server_port)) as conn:
                conn.sendall(FAVICON)
                assert conn.recv(1024).startswith(b"HTTP/1.1 200")
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET_ON_CLOSE)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
    # A file left open would be found here, and its ResourceWarning fail the test.
    gc.collect()


def wait_for_a_lock_wait(connection, deadline: float) -> None:
    """Until another session waits for a lock (PostgreSQL tells no one: it is asked)."""
    waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    while not connection.scalar(waiting):
        assert time.monotonic() < deadline, "the TRUNCATE never waited"
        threading.Event().wait(0.01)  # polling the server, with a deadline


@pytest.mark.postgresql
def test_emptying_the_tables_outlasts_a_deadlock_with_a_late_reader(app, make_user):
    # As a socket's connect the server answers after the test: a session read (one
    # table), then its user (another), while the teardown's TRUNCATE locks them all.
    engine = db.engine
    make_user(email="late@example.org")
    tables = list(reversed(db.metadata.sorted_tables))  # the TRUNCATE's order
    first, last = tables[0].name, tables[-1].name
    holding, seen = threading.Event(), {}

    def late_reader():
        with engine.connect() as connection:
            connection.execute(text(f'SELECT count(*) FROM "{last}"'))
            holding.set()
            # The TRUNCATE holds every table up to the last, and waits for it.
            wait_for_a_lock_wait(connection, time.monotonic() + WAIT_MS / 1000)
            try:
                connection.execute(text(f'SELECT count(*) FROM "{first}"'))
                seen["reader"] = "read"
            except DBAPIError as error:
                seen["reader"] = error.orig.sqlstate
            connection.rollback()

    reader = threading.Thread(target=late_reader)
    reader.start()
    assert holding.wait(WAIT_MS / 1000)
    attempts = _empty_all_tables()
    reader.join(timeout=WAIT_MS / 1000)
    # PostgreSQL failed one of the two: the TRUNCATE (which ran again) or the reader.
    assert (attempts, seen["reader"]) in {(2, "read"), (1, DEADLOCK)}
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
