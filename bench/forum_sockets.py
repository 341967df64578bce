"""Live forum fan-out under `portal serve`: N Socket.IO clients on one thread, each
reply's POST timed to its arrival at the last client, with misses and memory.

The portal runs as production runs it: `portal serve --workers 1`, then `--workers 2`
over Redis (the clients spread over both by the kernel through gunicorn's shared
socket; how many land on each process is counted from /proc). The clients are asyncio
Socket.IO clients over WebSocket in ``--procs`` processes of their own; arrival times
are CLOCK_MONOTONIC, the same clock in every process. Memory per idle client is the
workers' RSS with the clients connected and joined, less before, over N.

    pip install -e '.[bench]'
    python -m bench.forum_sockets --clients 1000 --posts 40 [--workers 1,2] [--procs 2]
"""

import argparse
import asyncio
import multiprocessing
import os
import queue
import statistics
import tempfile
import time

import httpx

from bench import common
from bench.common import percentile, portal_app
from bench.serving import print_profile
from portal.areas.services import list_areas
from portal.auth.services import create_token, grant_role, register_user
from portal.extensions import db
from portal.forums import services

SETTINGS = {
    # The bench posts and joins faster than any resident may; limits are not measured.
    "FORUM_POST_LIMIT": "100000 per minute",
    "FORUM_POST_LIMIT_NEW": "100000 per minute",
    "SOCKET_EVENT_LIMIT": "100000 per minute",
}


def clients_process(
    base, thread_id, count, first, ready, notices, stop, deflate=False
) -> None:
    """One process's share of the clients: connect and join, then note arrivals;
    tell the parent when all of them have a post; at ``stop`` send every time.
    ``deflate``: offer permessage-deflate, as browsers do."""
    common.raise_open_files()
    asyncio.run(_clients(base, thread_id, count, first, ready, notices, stop, deflate))


async def _clients(base, thread_id, count, first, ready, notices, stop, deflate):
    import socketio

    arrived: dict[int, list[float]] = {}
    # aiohttp offers no compression unless told; Chromium and Firefox always offer
    # permessage-deflate with a 15-bit window.
    options = {"compress": 15} if deflate else {}

    def make_client():
        client = socketio.AsyncClient(
            reconnection=False, websocket_extra_options=options
        )

        async def post_created(post):
            times = arrived.setdefault(post["id"], [])
            times.append(time.perf_counter())
            if len(times) == count:
                notices.put(("all", post["id"]))

        client.on("post_created", post_created, namespace="/forums")
        return client

    async def open_one(client):
        # A patient wait for the namespace: the bench measures idle sockets and
        # deliveries, not how fast a traced or busy server lets 1,000 in.
        await client.connect(
            base, namespaces=["/forums"], transports=["websocket"], wait_timeout=30
        )
        answer = await client.call(
            "join", {"thread": thread_id}, namespace="/forums", timeout=60
        )
        if answer is None or answer.get("thread") != thread_id:
            raise RuntimeError(f"join refused: {answer}")

    clients = [make_client() for _ in range(count)]
    errors = []
    for start in range(0, count, 50):
        results = await asyncio.gather(
            *(open_one(c) for c in clients[start : start + 50]), return_exceptions=True
        )
        errors += [repr(r) for r in results if isinstance(r, Exception)]
    ready.put((first, count - len(errors), len(errors), sorted(set(errors))[:3]))
    await asyncio.to_thread(stop.wait)
    notices.put(("times", arrived))
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


def worker_rss_kb(server) -> int:
    return sum(common.rss_kb(pid) for pid in common.children(server.pid))


def warm_up(base: str, thread_id: int) -> None:
    """One client through connect, join and leave: the code paths loaded and the
    caches filled before the idle memory is read."""
    import socketio

    client = socketio.Client(reconnection=False)
    client.connect(base, namespaces=["/forums"], transports=["websocket"])
    client.call("join", {"thread": thread_id}, namespace="/forums", timeout=30)
    client.disconnect()


def measure(base, server, port, thread_id, token, args) -> dict:
    context = multiprocessing.get_context("spawn")
    ready, notices, stop = context.Queue(), context.Queue(), context.Event()
    warm_up(base, thread_id)
    workers = common.children(server.pid)
    deadline = time.monotonic() + 30
    while any(common.connections_by_process(workers, port).values()):
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)  # the warm-up's socket closed before the idle reading
    idle_kb = worker_rss_kb(server)
    shares = [args.clients // args.procs] * args.procs
    shares[-1] += args.clients - sum(shares)
    started = time.perf_counter()
    children = []
    try:
        for number, share in enumerate(shares):
            child = context.Process(
                target=clients_process,
                args=(base, thread_id, share, number, ready, notices, stop),
                kwargs={"deflate": args.deflate},
                daemon=True,
            )
            child.start()
            children.append(child)
        connected = failed = 0
        errors = set()
        for _ in children:
            _first, ok, bad, why = ready.get(timeout=600)
            connected, failed = connected + ok, failed + bad
            errors.update(why)
        connect_s = time.perf_counter() - started
        if not connected:
            raise RuntimeError("no client connected (is the bench extra installed?)")
        time.sleep(2.0)  # idle: the last handshakes' buffers settle before reading
        loaded_kb = worker_rss_kb(server)
        spread = common.connections_by_process(common.children(server.pid), port)
        workers = common.children(server.pid)
        spies = common.start_spies(workers, args.profile, "sockets")
        clients = [child.pid for child in children]
        cpu = common.cpu_seconds(workers), common.cpu_seconds(clients)
        sent_at, post_ms, trouble = post_all(base, thread_id, token, notices, args)
        cpu = [
            (common.cpu_seconds(pids) - before) * 1000 / max(1, len(sent_at))
            for pids, before in zip((workers, clients), cpu, strict=True)
        ]
        common.stop_spies(spies)
        stop.set()
        arrivals: dict[int, list[float]] = {post_id: [] for post_id in sent_at}
        for _ in children:
            while True:
                kind, payload = notices.get(timeout=120)
                if kind == "times":
                    break
            for post_id, times in payload.items():
                arrivals.setdefault(post_id, []).extend(times)
    finally:
        stop.set()
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.terminate()
    lasts, medians, misses = [], [], 0
    for post_id, sent in sent_at.items():
        times = [(t - sent) * 1000 for t in arrivals[post_id]]
        misses += connected - len(times)
        if times:
            lasts.append(max(times))
            medians.append(statistics.median(times))
    return {
        "connected": connected,
        "failed": failed,
        "errors": sorted(errors),
        "connect_s": connect_s,
        "idle_kb": idle_kb,
        "loaded_kb": loaded_kb,
        "spread": spread,
        "last": lasts,
        "median": medians,
        "misses": misses,
        "post_ms": post_ms,
        "trouble": trouble,
        "posts": len(sent_at),
        "cpu_ms": cpu,
        "profiles": [output for _spy, output in spies],
    }


def post_all(base, thread_id, token, notices, args):
    """The replies, each waited for at every client process (or ``--wait``);
    answers (post id -> when its POST left, POST times in ms, what went wrong)."""
    sent_at, post_ms, complete = {}, [], {}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
        for number in range(args.posts):
            sent = time.perf_counter()
            try:
                answer = http.post(
                    f"/api/v1/threads/{thread_id}/posts",
                    json={"body": f"Post {number}"},
                )
            except httpx.TimeoutException:
                return sent_at, post_ms, "a reply's POST got no answer in 30 s"
            post_ms.append((time.perf_counter() - sent) * 1000)
            answer.raise_for_status()
            post_id = answer.json()["id"]
            sent_at[post_id] = sent
            deadline = sent + args.wait
            while complete.get(post_id, 0) < args.procs:
                try:
                    _kind, seen = notices.get(
                        timeout=max(0.0, deadline - time.perf_counter())
                    )
                except queue.Empty:
                    break
                complete[seen] = complete.get(seen, 0) + 1
            time.sleep(args.gap)
    return sent_at, post_ms, None


def show(workers: int, result: dict, args) -> None:
    last, median = result["last"], result["median"]
    per_client = (result["loaded_kb"] - result["idle_kb"]) / max(1, result["connected"])
    spread = ", ".join(f"pid {pid}: {n}" for pid, n in result["spread"].items())
    print(f"== portal serve --workers {workers}: {args.clients} clients, "
          f"{args.posts} posts, {args.procs} client processes")  # fmt: skip
    print(f"  connected and joined: {result['connected']} "
          f"({result['failed']} failed) in {result['connect_s']:.1f} s; "
          f"per process: {spread}")  # fmt: skip
    for error in result["errors"]:
        print(f"  a failure: {error}")
    if last:
        print(
            f"  POST -> last client:   p50 {statistics.median(last):7.1f} ms   "
            f"p95 {percentile(last, 0.95):7.1f} ms   "
            f"p99 {percentile(last, 0.99):7.1f} ms   worst {max(last):7.1f} ms"
            f"  (target p99 < 150 ms)"
        )
        print(
            f"  POST -> median client: p50 {statistics.median(median):7.1f} ms   "
            f"p99 {percentile(median, 0.99):7.1f} ms"
        )
    if result["trouble"]:
        print(f"  STOPPED: {result['trouble']}")
    if result["post_ms"]:
        post_ms = statistics.median(result["post_ms"])
        print(f"  the POST itself:       p50 {post_ms:7.1f} ms")
    server_ms, clients_ms = result["cpu_ms"]
    deliveries = max(1, result["connected"])
    print(f"  CPU per post: workers {server_ms:.1f} ms "
          f"({server_ms * 1000 / deliveries:.0f} us per delivery), client processes "
          f"{clients_ms:.1f} ms")  # fmt: skip
    print(f"  deliveries missed: {result['misses']} of "
          f"{result['connected'] * result['posts']}")  # fmt: skip
    print(f"  workers' memory: {result['idle_kb'] / 1024:.0f} MB idle, "
          f"{result['loaded_kb'] / 1024:.0f} MB with the clients: "
          f"{per_client:.1f} KB per idle client (target <= 50 KB)")  # fmt: skip
    if result["profiles"]:
        print("  profile of the workers while posting:")
        print_profile(result["profiles"])


def prepare(folder: str) -> tuple[str, int, str]:
    """A database with a thread and a moderator's token (no holds on its posts)."""
    app, _folder = portal_app(folder, **SETTINGS)
    with app.app_context():
        area = list_areas()[0]
        poster = register_user("Bench Poster", "bench@example.org", "bench-pass", area)
        grant_role(poster, "moderator")
        _, token = create_token(poster, "bench")
        thread_id = services.create_thread(poster, area, "Bench thread", "Hello").id
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        db.session.remove()
        db.engine.dispose()
    return url, thread_id, token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=40)
    parser.add_argument("--gap", type=float, default=0.3, help="seconds between posts")
    parser.add_argument("--wait", type=float, default=10.0, help="seconds per post")
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--workers", default="1,2", help="web processes, e.g. 1,2")
    parser.add_argument(
        "--connections", type=int, help="portal serve --connections (its default)"
    )
    parser.add_argument("--profile", metavar="FOLDER", help="py-spy the workers")
    parser.add_argument(
        "--deflate",
        action="store_true",
        help="clients offer permessage-deflate, as browsers do",
    )
    args = parser.parse_args()
    common.raise_open_files()
    folder = tempfile.mkdtemp(prefix="bench-sockets-")
    url, thread_id, token = prepare(folder)
    extra = ["--connections", str(args.connections)] if args.connections else []
    for workers in (int(n) for n in args.workers.split(",")):
        processes = []
        try:
            settings = dict(SETTINGS)
            if workers > 1:
                redis, redis_url = common.start_redis(os.path.join(folder, "redis"))
                processes.append(redis)
                settings["REDIS_URL"] = redis_url
            env = common.portal_env(url, folder, **settings)
            log = os.path.join(folder, f"portal-{workers}.log")
            server, base = common.start_portal(env, workers, log, *extra)
            processes.append(server)
            port = int(base.rsplit(":", 1)[1])
            show(workers, measure(base, server, port, thread_id, token, args), args)
        finally:
            for process in reversed(processes):
                common.stop_process(process)
    print(f"(logs in {folder})")


if __name__ == "__main__":
    main()
