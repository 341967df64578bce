"""Several real web processes sharing one database and one redis-server, and the
clients that speak to them: HTTP with a person's cookies, and Socket.IO."""

import functools
import json
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest
import socketio

from tests import redis_server as redis_servers
from tests.conftest import CSRF_RE, PASSWORD, TEST_CONFIG
from tests.processes import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# One budget for whatever a test waits on; a wait ends as soon as its condition holds.
WAIT = 20.0
CHANNEL = "flask-socketio"  # python-socketio's channel, as Flask-SocketIO names it


# Notified whenever a test socket receives or loses something: a wait on a socket
# event wakes as it arrives, not at the next look.
ARRIVED = threading.Condition()


def until(condition, timeout=WAIT, what="the condition", every=0.02):
    """Wait until ``condition`` answers something true, and answer that: woken by
    every socket event, and looking again at least each ``every`` seconds for what
    no socket announces (a server's state)."""
    deadline = time.monotonic() + timeout
    with ARRIVED:
        while not (result := condition()):
            left = deadline - time.monotonic()
            assert left > 0, f"{what} did not happen in {timeout} s"
            ARRIVED.wait(min(every, left))
    return result


@pytest.fixture(scope="session")
def redis_server():
    """A redis-server on a free loopback port for the whole run."""
    server = redis_servers.start()
    yield server
    server.remove()


class WebProcess:
    """``python -m tests.realtime.serve_app``: the portal in a process of its own."""

    def __init__(self, config: dict, folder):
        self.port = redis_servers.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / f"web-{self.port}.log"
        env = {**os.environ, "PORTAL_INSTANCE_PATH": str(folder / f"i{self.port}")}
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.realtime.serve_app",
                    str(self.port),
                    json.dumps(config),
                ],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        with open(self.log_path) as handle:
            return handle.read()[-6000:]

    def wait_ready(self, timeout: float = 60.0) -> None:
        def answering() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"the web process exited:\n{self.log()}")
            try:
                answer = httpx.get(f"{self.url}/auth/login", timeout=5, trust_env=False)
            except httpx.TransportError:
                return False
            return answer.status_code == 200

        try:
            wait_until(answering, "the web process to answer", timeout)
        except AssertionError:
            self.stop()
            raise RuntimeError(
                f"the web process never answered:\n{self.log()}"
            ) from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def web_config(database_url: str, redis_url: str, folder, **overrides) -> dict:
    return {
        **TEST_CONFIG,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": redis_url,
        "SOCKETIO_ASYNC_MODE": "threading",
        "UPLOAD_DIR": str(folder / "uploads"),
        "SANDBOX_DATABASE_URL": f"sqlite:///{folder}/city.db",
        "SANDBOX_SEED_COUNT": 0,
        # Over a minute, so no window passes while a test counts across processes.
        "SOCKET_EVENT_LIMIT": "8 per minute",
        "FILING_LIMIT": "3 per hour",
        **overrides,
    }


def start_processes(config: dict, folder, redis, count: int = 2) -> list[WebProcess]:
    """Start ``count`` web processes side by side; answer once each serves pages and
    listens to Redis (python-socketio subscribes when its first socket connects)."""
    listening = redis.subscribers(CHANNEL)  # another test's processes, say
    processes = [WebProcess(config, folder) for _ in range(count)]
    try:
        for process in processes:
            process.wait_ready()
        for process in processes:
            LiveSocket(process.url).close()
        until(
            lambda: redis.subscribers(CHANNEL) >= listening + count,
            what="every process listening to Redis",
        )
    except BaseException:
        stop_processes(processes)
        raise
    return processes


def stop_processes(processes: list[WebProcess]) -> None:
    for process in processes:  # all told first: they stop side by side
        if process.process.poll() is None:
            process.process.terminate()
    for process in processes:
        process.stop()


@pytest.fixture(scope="module")
def web(database_url, redis_server, tmp_path_factory):
    """Two web processes, A and B, on the run's database and Redis."""
    folder = tmp_path_factory.mktemp("web")
    # Behind one proxy, as production runs: what sends no X-Forwarded-For keeps its
    # own address.
    config = web_config(database_url, redis_server.url, folder, PROXY_HOPS=1)
    processes = start_processes(config, folder, redis_server)
    yield processes
    stop_processes(processes)


@pytest.fixture(autouse=True)
def fresh_limits(redis_server):
    """No count left in Redis by an earlier test: tests share the address 127.0.0.1,
    and emptied tables give the next test's users the same ids."""
    redis_server.flush()


@pytest.fixture
def app_overrides(tmp_path):
    # The test's own app only writes rows; the city it reads services from is built in.
    return {
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path}/city.db",
        "SANDBOX_SEED_COUNT": 0,
    }


class Visitor:
    """A person's browser reduced to HTTP: it keeps the cookies and sends them to any
    of the processes (over plain HTTP, as a browser does to 127.0.0.1)."""

    def __init__(self):
        self.http = httpx.Client(timeout=WAIT, trust_env=False)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str, **options) -> httpx.Response:
        headers = dict(options.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = self.cookie
        answer = self.http.request(method, url, headers=headers, **options)
        for cookie in answer.cookies.jar:
            self.cookies[cookie.name] = cookie.value
        self.http.cookies.clear()  # sent by hand above, Secure ones included
        return answer

    @property
    def cookie(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.cookies.items())

    def csrf(self, url: str) -> str:
        match = CSRF_RE.search(self.request("GET", url).text)
        assert match, f"no CSRF token on {url}"
        return match.group(1)

    def login(self, base: str, email: str, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf(f"{base}/auth/login")
        return self.request(
            "POST",
            f"{base}/auth/login",
            data={"email": email, "password": password, "csrf_token": token},
        )

    def logout(self, base: str) -> httpx.Response:
        token = self.csrf(f"{base}/")
        return self.request("POST", f"{base}/auth/logout", data={"csrf_token": token})

    def close(self) -> None:
        self.http.close()


class LiveSocket:
    """A Socket.IO client over WebSocket alone, as the portal's pages connect."""

    def __init__(self, url: str, namespace: str = "/", headers: dict | None = None):
        self.namespace = namespace
        self.received: list[tuple[str, tuple]] = []
        self.closed = threading.Event()
        self.closed_at: float | None = None
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._record, namespace=namespace)
        self.client.on("disconnect", self._closing, namespace=namespace)
        self.client.connect(
            url,
            headers=headers or {},
            transports=["websocket"],
            namespaces=[namespace],
            wait_timeout=WAIT,
        )

    def _record(self, event, *args):
        with ARRIVED:
            self.received.append((event, args))
            ARRIVED.notify_all()

    def _closing(self, *_reason):
        self.closed_at = time.monotonic()
        self.closed.set()
        with ARRIVED:
            ARRIVED.notify_all()

    def call(self, event: str, data=None):
        return self.client.call(event, data, namespace=self.namespace, timeout=WAIT)

    def events(self, name: str) -> list:
        return [
            args[0] if args else None for event, args in self.received if event == name
        ]

    def close(self) -> None:
        if self.client.connected:
            # websocket-client waits 3 s for the server's closing frame, which the
            # client's own reading thread takes first: no need to wait for it here.
            ws = self.client.eio.ws
            ws.close = functools.partial(type(ws).close, ws, timeout=0.1)
            self.client.disconnect()
        self.client.eio.wait()  # its threads ended, whoever closed the connection


@pytest.fixture
def sockets():
    """Open sockets with ``sockets(url, namespace, headers)``; all closed at the end."""
    opened: list[LiveSocket] = []

    def open_socket(url, namespace="/", headers=None) -> LiveSocket:
        opened.append(LiveSocket(url, namespace, headers))
        return opened[-1]

    yield open_socket
    for socket in opened:
        socket.close()


@pytest.fixture
def visitors():
    """New visitors (each its own cookies) with ``visitors()``; closed at the end."""
    made: list[Visitor] = []

    def make() -> Visitor:
        made.append(Visitor())
        return made[-1]

    yield make
    for visitor in made:
        visitor.close()
