"""The server the browser tests run the portal on: a connection the browser resets
just as its response arrives leaves no file open behind it."""

import gc
import socket
import struct
import threading

from werkzeug.serving import make_server

from tests.browser.conftest import closed_when_sent

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
