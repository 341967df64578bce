"""`portal run` for real: migrate, demo, pages, and Socket.IO over WebSocket."""

import signal
import urllib.request

import pytest

from tests.browser.conftest import WAIT_MS
from tests.processes import PORTAL, Child, free_port


@pytest.fixture
def running_portal(tmp_path):
    port = free_port()
    env = {
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
    }
    portal = Child([PORTAL, "run", "--port", str(port)], env)
    try:
        # Gunicorn's worker has started: the port is bound, and connections made now
        # wait in its backlog until the app is loaded.
        portal.output.wait_for("Booting worker with pid")
        assert portal.alive(), portal.output.text
        yield f"http://127.0.0.1:{port}", portal.output.lines
    finally:
        portal.stop(signal.SIGINT)  # what Ctrl+C sends


def test_run_serves_the_portal_with_demo_data(running_portal):
    base, output = running_portal
    text = "".join(output)
    assert "Running upgrade" in text or "upgrading the database" in text
    for role in ("resident", "captain", "liaison", "moderator", "admin"):
        assert f"{role}@example.org" in text
    for path in ("/", "/auth/login", "/api/v1/openapi.json", "/areas/fishtown"):
        with urllib.request.urlopen(base + path, timeout=10) as response:
            assert response.status == 200, path
    with urllib.request.urlopen(base + "/api/v1/areas?geometry=false", timeout=10) as r:
        assert b'"fishtown"' in r.read()


def test_socketio_connects_over_websocket_from_chromium(running_portal, browser):
    base, _output = running_portal
    # CSP is bypassed only to inject the client library into this test page.
    context = browser.new_context(base_url=base, bypass_csp=True)
    page = context.new_page()
    page.goto("/")
    page.add_script_tag(url="/static/vendor/socket.io/socket.io.min.js")
    # The ack has a deadline, so an answer that never comes fails instead of hanging.
    result = page.evaluate(
        """(deadline) => new Promise((resolve, reject) => {
            const socket = io({ transports: ["websocket"] });
            socket.on("connect_error", (e) => reject(String(e)));
            socket.on("connect", () => {
                socket.timeout(deadline).emit("whoami", (error, answer) => {
                    const transport = socket.io.engine.transport.name;
                    socket.close();
                    if (error) reject("no answer to whoami: " + String(error));
                    else resolve({ transport, answer });
                });
            });
        })""",
        WAIT_MS,
    )
    context.close()
    assert result == {"transport": "websocket", "answer": {"user": None}}
