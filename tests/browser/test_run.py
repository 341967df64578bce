"""`portal run` for real: migrate, demo, pages, and Socket.IO over WebSocket."""

import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request

import pytest

from tests.browser.conftest import WAIT_MS


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running_portal(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
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
    output: list[str] = []
    listening = threading.Event()

    def read():
        for line in process.stdout:
            output.append(line)
            # Gunicorn's worker has started: the port is bound, and connections made
            # now wait in its backlog until the app is loaded.
            if "Booting worker with pid" in line:
                listening.set()
        listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert listening.wait(120) and process.poll() is None, "".join(output)
    yield f"http://127.0.0.1:{port}", output
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    reader.join(timeout=10)
    process.stdout.close()


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
