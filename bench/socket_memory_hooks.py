"""Gunicorn config for bench.socket_memory: the portal's own hooks, plus tracemalloc
and object counts written on request (a file dropped in SOCKET_MEMORY_DIR)."""

import gc
import json
import os
import sys
import tracemalloc
from collections import Counter

import portal.gunicorn_hooks as _portal

# Every hook of the portal's (gunicorn ignores the names that are not settings).
globals().update(
    {name: value for name, value in vars(_portal).items() if not name.startswith("_")}
)

FRAMES = 12


def _census() -> dict:
    """Live objects by type (the frozen app's objects are not among them)."""
    counts = Counter(type(o).__qualname__ for o in gc.get_objects())
    from greenlet import greenlet

    greenlets = [o for o in gc.get_objects() if isinstance(o, greenlet)]
    stacks = Counter()
    for glet in greenlets:
        frame = getattr(glet, "gr_frame", None)
        if frame is not None:
            while frame.f_back is not None:
                frame = frame.f_back
            code = frame.f_code
            stacks[f"{os.path.basename(code.co_filename)}:{code.co_name}"] += 1
    return {"types": dict(counts), "greenlet_roots": dict(stacks)}


def _serve_requests(folder: str) -> None:
    import gevent

    while True:
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".want"):
                continue
            label = name[: -len(".want")]
            base = os.path.join(folder, f"{label}-{os.getpid()}")
            gc.collect()
            tracemalloc.take_snapshot().dump(base + ".snap")
            with open(base + ".json", "w") as out:
                json.dump(_census(), out)
            os.replace(base + ".json", base + ".census")
            os.remove(os.path.join(folder, name))
        gevent.sleep(0.2)


def post_worker_init(worker) -> None:
    _portal.post_worker_init(worker)
    folder = os.environ.get("SOCKET_MEMORY_DIR")
    if folder:
        import gevent

        tracemalloc.start(FRAMES)
        gevent.spawn(_serve_requests, folder)
        print(f"socket_memory: tracing in {os.getpid()}", file=sys.stderr)
