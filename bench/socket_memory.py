"""Where an idle Socket.IO client's memory goes: tracemalloc in the web worker before
and after N clients connect and join a thread, by allocation site, with live objects
and greenlets counted by type.

One gunicorn gevent worker, started as `portal serve` starts it but with
bench/socket_memory_hooks.py as its config (the portal's hooks, plus tracing: the
worker writes a snapshot whenever a file asks for one). RSS is shown too, though
tracemalloc's own bookkeeping inflates it.

    python -m bench.socket_memory --clients 1000 [--deflate] [--top 25]
"""

import argparse
import json
import multiprocessing
import os
import tempfile
import time
import tracemalloc

from bench import common
from bench.forum_sockets import SETTINGS, clients_process, prepare, warm_up
from portal.serving import HOOKS, gunicorn_argv

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def start_traced(env: dict, log: str):
    port = common.free_port()
    argv = gunicorn_argv(f"127.0.0.1:{port}", workers=1)
    argv[argv.index(HOOKS)] = "python:bench.socket_memory_hooks"
    env = {**env, "PYTHONPATH": HERE}
    process = common.start_process(argv, env, log)
    base = f"http://127.0.0.1:{port}"
    common.wait_answering(base + "/healthz", process)
    return process, base, port


def snapshot(folder: str, label: str, worker: int):
    """Ask the worker for a snapshot and wait for it."""
    open(os.path.join(folder, f"{label}.want"), "w").close()
    census = os.path.join(folder, f"{label}-{worker}.census")
    deadline = time.monotonic() + 300
    while not os.path.exists(census):
        if time.monotonic() > deadline:
            raise RuntimeError("the worker wrote no snapshot")
        time.sleep(0.2)
    with open(census) as data:
        counted = json.load(data)
    return tracemalloc.Snapshot.load(census[: -len(".census")] + ".snap"), counted


def _site(traceback, depth: int = 4) -> str:
    """The innermost frames, innermost first (a Traceback runs oldest first)."""
    frames = list(traceback)[::-1][:depth]
    return " < ".join(f"{_short(f.filename)}:{f.lineno}" for f in frames)


def _short(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename.replace(HERE + "/", "")


def report(before, after, counted_before, counted_after, clients, top) -> None:
    diff = after.compare_to(before, "traceback")
    total = sum(stat.size_diff for stat in diff)
    print(f"  traced growth: {total / 1024 / clients:.1f} KB per client "
          f"({total / 1024 / 1024:.1f} MB)")  # fmt: skip
    by_file = after.compare_to(before, "filename")
    print("  by file (bytes per client):")
    for stat in by_file[:top]:
        if stat.size_diff / clients < 100:
            break
        print(f"    {stat.size_diff / clients:8.0f}  "
              f"{stat.count_diff / clients:5.1f} blocks  "
              f"{_short(stat.traceback[0].filename)}")  # fmt: skip
    print("  by allocation site, innermost frames first (bytes per client):")
    for stat in diff[:top]:
        if stat.size_diff / clients < 100:
            break
        site = _site(stat.traceback)
        print(f"    {stat.size_diff / clients:8.0f}  "
              f"{stat.count_diff / clients:5.1f} blocks  {site}")  # fmt: skip
    types_before = counted_before["types"]
    grown = {
        name: count - types_before.get(name, 0)
        for name, count in counted_after["types"].items()
    }
    print("  live objects gained, per client:")
    for name, count in sorted(grown.items(), key=lambda kv: -kv[1])[:top]:
        if count / clients < 0.5:
            break
        print(f"    {count / clients:6.1f}  {name}")
    roots_before = counted_before["greenlet_roots"]
    print("  greenlets gained, by outermost frame, per client:")
    for name, count in sorted(
        counted_after["greenlet_roots"].items(), key=lambda kv: -kv[1]
    ):
        gained = count - roots_before.get(name, 0)
        if gained / clients >= 0.05:
            print(f"    {gained / clients:6.2f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument(
        "--deflate", action="store_true", help="clients offer permessage-deflate"
    )
    args = parser.parse_args()
    common.raise_open_files()
    folder = tempfile.mkdtemp(prefix="bench-socket-memory-")
    url, thread_id, _token = prepare(folder)
    traces = os.path.join(folder, "traces")
    os.makedirs(traces)
    env = common.portal_env(url, folder, **SETTINGS)
    env["SOCKET_MEMORY_DIR"] = traces
    server, base, port = start_traced(env, os.path.join(folder, "portal.log"))
    context = multiprocessing.get_context("spawn")
    ready, notices, stop = context.Queue(), context.Queue(), context.Event()
    children = []
    try:
        (worker,) = common.children(server.pid)
        warm_up(base, thread_id)
        deadline = time.monotonic() + 30
        while common.connections_by_process([worker], port)[worker]:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        rss_before = common.rss_kb(worker)
        before, counted_before = snapshot(traces, "before", worker)
        shares = [args.clients // args.procs] * args.procs
        shares[-1] += args.clients - sum(shares)
        for number, share in enumerate(shares):
            child = context.Process(
                target=clients_process,
                args=(base, thread_id, share, number, ready, notices, stop),
                kwargs={"deflate": args.deflate},
                daemon=True,
            )
            child.start()
            children.append(child)
        connected, errors = 0, set()
        for _ in children:
            _first, ok, _bad, why = ready.get(timeout=600)
            connected += ok
            errors.update(why)
        time.sleep(2.0)  # the last handshakes settle
        rss_after = common.rss_kb(worker)
        after, counted_after = snapshot(traces, "after", worker)
    finally:
        stop.set()
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.terminate()
        common.stop_process(server)
    offer = "offering permessage-deflate" if args.deflate else "no compression offered"
    print(f"== {connected} clients joined one thread ({offer})")
    for error in sorted(errors):
        print(f"  a failure: {error}")
    print(f"  worker RSS: {(rss_after - rss_before) / max(1, connected):.1f} KB "
          f"per client (tracemalloc's bookkeeping included)")  # fmt: skip
    report(before, after, counted_before, counted_after, max(1, connected), args.top)
    print(f"(logs in {folder})")


if __name__ == "__main__":
    main()
