"""Live forum fan-out: N Socket.IO clients on one thread; time from a reply's POST to
the last client receiving its post_created (p50, p95), with misses and server memory.

The portal runs as `portal run` serves it (Flask-SocketIO over Werkzeug, WebSocket
transport) in its own process; the clients are asyncio Socket.IO clients in this
one, so 500 of them cost one thread here.

    pip install -e '.[bench]'
    python -m bench.forum_sockets --clients 500 --posts 40 [--async-mode threading]
"""

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time

import httpx
import socketio

from bench.common import portal_app
from portal.auth.services import create_token, grant_role, register_user
from portal.forums import services

LIMITS = {
    # The bench posts faster than any resident may; the limits are not measured here.
    "FORUM_POST_LIMIT": "100000 per minute",
    "FORUM_POST_LIMIT_NEW": "100000 per minute",
    "SOCKET_EVENT_LIMIT": "100000 per minute",
    "CITY_WORKER_IN_RUN": False,
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(url: str, folder: str, mode: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    settings = [f"{key}={json.dumps(value)}" for key, value in LIMITS.items()]
    server = subprocess.Popen(
        [sys.executable, "-m", "bench.serve_portal", url, folder, str(port), mode]
        + settings
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):  # until it answers
        try:
            httpx.get(base + "/api/v1/openapi.json", timeout=1.0)
            return server, base
        except httpx.TransportError:
            time.sleep(0.05)
    server.kill()
    raise RuntimeError("the portal did not start")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * share + 0.5) - 1)]


class Reader:
    """One open thread page: a client in the thread's room, noting arrival times."""

    def __init__(self, base: str, thread_id: int):
        self.base, self.thread_id = base, thread_id
        self.client = socketio.AsyncClient(reconnection=False)
        self.arrived: dict[int, float] = {}
        self.client.on("post_created", self._arrived, namespace="/forums")

    async def _arrived(self, post):
        self.arrived[post["id"]] = time.perf_counter()

    async def open(self) -> None:
        await self.client.connect(
            self.base, namespaces=["/forums"], transports=["websocket"]
        )
        answer = await self.client.call(
            "join", {"thread": self.thread_id}, namespace="/forums", timeout=30
        )
        assert answer["thread"] == self.thread_id, answer


async def measure(base: str, thread_id: int, token: str, args) -> dict:
    readers = [Reader(base, thread_id) for _ in range(args.clients)]
    started = time.perf_counter()
    for first in range(0, len(readers), 50):
        await asyncio.gather(*(r.open() for r in readers[first : first + 50]))
    connect_s = time.perf_counter() - started
    lasts, medians, misses, posts_ms = [], [], 0, []
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        for number in range(args.posts):
            sent = time.perf_counter()
            answer = await http.post(
                f"/api/v1/threads/{thread_id}/posts", json={"body": f"Post {number}"}
            )
            posts_ms.append((time.perf_counter() - sent) * 1000)
            assert answer.status_code == 201, answer.text
            post_id = answer.json()["id"]
            deadline = sent + args.wait
            while time.perf_counter() < deadline:
                if all(post_id in r.arrived for r in readers):
                    break
                await asyncio.sleep(0.002)  # the event loop delivers meanwhile
            arrivals = [
                r.arrived[post_id] - sent for r in readers if post_id in r.arrived
            ]
            misses += len(readers) - len(arrivals)
            lasts.append(max(arrivals) * 1000)
            medians.append(statistics.median(arrivals) * 1000)
            await asyncio.sleep(args.gap)
    await asyncio.gather(*(r.client.disconnect() for r in readers))
    return {
        "connect_s": connect_s,
        "last": lasts,
        "median": medians,
        "misses": misses,
        "post_ms": posts_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.2, help="seconds between posts")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds per post")
    parser.add_argument("--async-mode", default="threading")
    args = parser.parse_args()

    app, folder = portal_app(**LIMITS)
    with app.app_context():
        area = __import__("portal.areas.services", fromlist=["x"]).list_areas()[0]
        poster = register_user(
            "Bench Poster", "bench@example.org", "bench-password", area
        )
        grant_role(poster, "moderator")  # no new-account holds on its posts
        _, token = create_token(poster, "bench")
        thread = services.create_thread(poster, area, "Bench thread", "Hello")
        thread_id = thread.id
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    server, base = start_server(url, folder, args.async_mode)
    idle_mb = rss_mb(server.pid)
    try:
        result = asyncio.run(measure(base, thread_id, token, args))
        loaded_mb = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)
    last, median = result["last"], result["median"]
    print(
        f"{args.clients} clients on one thread, {args.posts} posts, "
        f"async mode {args.async_mode}, database {url.split(':')[0]}"
    )
    print(f"  all clients connected and joined in {result['connect_s']:.1f} s")
    print(
        f"  POST -> last client:   p50 {statistics.median(last):7.1f} ms   "
        f"p95 {percentile(last, 0.95):7.1f} ms   max {max(last):7.1f} ms"
    )
    print(
        f"  POST -> median client: p50 {statistics.median(median):7.1f} ms   "
        f"p95 {percentile(median, 0.95):7.1f} ms"
    )
    print(
        f"  the POST itself:       p50 {statistics.median(result['post_ms']):7.1f} ms"
    )
    print(f"  deliveries missed: {result['misses']} of {args.clients * args.posts}")
    print(
        f"  server memory: {idle_mb:.0f} MB idle, {loaded_mb:.0f} MB with the clients "
        f"({(loaded_mb - idle_mb) * 1024 / args.clients:.0f} KB per client)"
    )


if __name__ == "__main__":
    main()
