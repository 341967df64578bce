"""The documented deployment, started for real on loopback: PostgreSQL, Redis, a city,
two web processes (`portal serve`), two `portal city worker` processes; a resident
files on one process, sees it sent on the other, and a reply made through one reaches
a socket held by the other."""

import socket
import threading
import uuid

import httpx
import pytest
import socketio

from tests.processes import PORTAL, Child, free_port, wait_until
from tests.redis_server import start as start_redis

# The documented layout is PostgreSQL's: this runs in the PostgreSQL pass alone.
pytestmark = [pytest.mark.db, pytest.mark.postgresql]

SECRET = "layout-test-secret-not-for-production"
SANDBOX_KEY = "layout-sandbox-key"


@pytest.fixture(scope="module")
def redis_url():
    server = start_redis()
    yield server.url
    server.remove()


def run(args, env, pattern, timeout=300):
    """A one-off command to its end; answers its output."""
    child = Child([PORTAL, *args], env)
    child.process.wait(timeout=timeout)
    child.output.reader.join(timeout=10)
    assert child.process.returncode == 0, child.output.text
    child.output.wait_for(pattern)
    text_ = child.output.text
    child.stop()
    return text_


@pytest.fixture(scope="module")
def layout(tmp_path_factory, own_database_url, redis_url):
    """Started once for the module's tests: it takes a while to come up."""
    tmp_path = tmp_path_factory.mktemp("layout")
    city_port, web_ports = free_port(), (free_port(), free_port())
    env = {
        "PORTAL_DATABASE_URL": own_database_url,
        "PORTAL_REDIS_URL": redis_url,
        "PORTAL_SECRET_KEY": SECRET,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "PORTAL_CITY_URL": f"http://127.0.0.1:{city_port}/open311/v2/",
        "PORTAL_CITY_API_KEY": SANDBOX_KEY,
        "PORTAL_CITY_WORKER_INTERVAL": "0.2",
        "PORTAL_EVENTS_INTERVAL": "0.5",
        "PORTAL_SESSION_COOKIE_SECURE": "false",
    }
    city_env = {
        **env,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "city"),
        "PORTAL_SANDBOX_API_KEY": SANDBOX_KEY,
        "PORTAL_SANDBOX_SEED_COUNT": "20",
    }
    run(["db", "upgrade"], env, r"")
    run(["demo", "load"], env, r"resident@example\.org")
    token = run(["tokens", "create", "resident@example.org"], env, r"np_")
    token = token.strip().splitlines()[-1].strip()
    children = []
    try:
        city = Child([PORTAL, "sandbox", "serve", "--port", str(city_port)], city_env)
        children.append(city)
        city.output.wait_for("Running on|Listening at|sandbox city on")
        webs = []
        for port in web_ports:
            web = Child([PORTAL, "serve", "--port", str(port), "--workers", "1"], env)
            children.append(web)
            webs.append(web)
        workers = [Child([PORTAL, "city", "worker"], env) for _ in range(2)]
        children.extend(workers)
        for worker in workers:
            worker.output.wait_for("city worker .* started")
        bases = [f"http://127.0.0.1:{port}" for port in web_ports]
        for base in bases:
            wait_until(lambda base=base: _health(base) == "ok", f"{base}/healthz ok")
        yield {
            "bases": bases,
            "token": token,
            "city": f"http://127.0.0.1:{city_port}/open311/v2/",
            "webs": webs,
            "workers": workers,
        }
    finally:
        for child in reversed(children):
            child.stop()


def _health(base: str) -> str | None:
    try:
        answer = httpx.get(f"{base}/healthz", timeout=5)
    except httpx.TransportError:
        return None  # not listening yet
    return answer.json()["status"] if answer.status_code == 200 else None


def test_a_resident_flow_through_the_documented_layout(layout):
    a, b = layout["bases"]
    auth = {"Authorization": f"Bearer {layout['token']}"}
    with httpx.Client(headers=auth, timeout=30) as api:
        # The workers' first pass fetches the city's services; filing needs them.
        wait_until(
            lambda: "SBX-DV" in api.get(f"{a}/api/v1/services").text,
            "the city's services",
        )
        # Filed on process A, stored at once: the city is not in the request's path.
        description = f"layout test {uuid.uuid4().hex[:8]}"
        filed = api.post(
            f"{a}/api/v1/tickets",
            json={
                "service_code": "SBX-DV",
                "lat": 39.9526,
                "lon": -75.1652,
                "description": description,
                "not_duplicate": True,
            },
        )
        assert filed.status_code == 202, filed.text
        ticket_id = filed.json()["id"]

        # One of the two workers sends it; process B shows it sent.
        def sent():
            ticket = api.get(f"{b}/api/v1/tickets/{ticket_id}").json()
            return ticket if ticket["send_state"] == "sent" else None

        ticket = wait_until(sent, "the ticket to be sent")
        assert ticket["city_id"]
        at_city = httpx.get(
            f"{layout['city']}requests.json", params={"service_code": "SBX-DV"}
        ).json()
        # Exactly once, though two workers were sending (the portal's reference
        # travels in the description).
        mine = [r for r in at_city if r["description"].startswith(description)]
        assert [r["service_request_id"] for r in mine] == [ticket["city_id"]]

        # A thread made on A; a socket on B joins it; a reply through A reaches B.
        areas = api.get(f"{a}/api/v1/areas", params={"geometry": "false"}).json()
        area = areas["features"][0]["properties"]["slug"]
        thread = api.post(
            f"{a}/api/v1/forums/{area}/threads",
            json={"title": "Fallen tree on our block", "body": "Who has a saw?"},
        )
        assert thread.status_code == 201, thread.text
        thread_id = thread.json()["thread"]["id"]
        arrived = threading.Event()
        received = []
        live = socketio.Client(reconnection=False)

        @live.on("post_created", namespace="/forums")
        def on_post(data):
            received.append(data)
            arrived.set()

        live.connect(b, namespaces=["/forums"], headers=auth, transports=["websocket"])
        try:
            joined = live.call("join", {"thread": thread_id}, namespace="/forums")
            assert joined["thread"] == thread_id
            reply = api.post(
                f"{a}/api/v1/threads/{thread_id}/posts", json={"body": "I do."}
            )
            assert reply.status_code == 201, reply.text
            assert arrived.wait(30), "the reply never reached process B's socket"
        finally:
            live.disconnect()
        assert received[0]["id"] == reply.json()["id"]


def test_a_slow_client_does_not_pin_a_web_process(layout):
    a, _b = layout["bases"]
    host, port = a.removeprefix("http://").split(":")
    stalled = []
    try:
        for _ in range(50):  # half-sent requests that never finish
            connection = socket.create_connection((host, int(port)), timeout=10)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            stalled.append(connection)
        answer = httpx.get(f"{a}/api/v1/me", timeout=30)
        assert answer.status_code == 401
        assert _health(a) == "ok"
    finally:
        for connection in stalled:
            connection.close()
