"""Shared set-up for the benchmarks: a migrated portal in a temporary folder."""

import json
import math
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time

import httpx
from flask_migrate import upgrade
from sqlalchemy import func, select

from portal import create_app
from portal.areas.services import save_areas
from portal.demo.geography import demo_areas
from portal.demo.tickets import load_tickets
from portal.extensions import db
from portal.tickets.models import Ticket


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def portal_app(folder: str | None = None, **config):
    """A portal on a fresh SQLite file (or PORTAL_DATABASE_URL) with the demo areas."""
    folder = folder or tempfile.mkdtemp(prefix="portal-bench-")
    url = os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{folder}/portal.db"
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            **config,
        }
    )
    app.instance_path = folder
    with app.app_context():
        upgrade()
        save_areas(demo_areas())
    return app, folder


# Serving benchmarks: the portal's own commands in processes of their own, on loopback.

PORTAL = os.path.join(os.path.dirname(sys.executable), "portal")
SECRET = "bench-secret-not-for-production"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def raise_open_files(wanted: int = 65536) -> None:
    """Thousands of sockets in one client process need more than the usual 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def ticket_database(
    count: int, url: str | None, folder: str, grown: bool = False
) -> str:
    """A migrated portal database with the demo areas and ``count`` demo tickets.

    SQLite lives in ``folder`` and is reused when it already holds ``count`` tickets
    (or more, with ``grown``: those filed by an earlier run); loading a million takes
    minutes. ``url`` is used instead when given.
    """
    os.makedirs(folder, exist_ok=True)
    url = url or f"sqlite:///{folder}/portal.db"
    app = create_app({"SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url})
    app.instance_path = folder
    with app.app_context():
        upgrade()
        have = db.session.scalar(select(func.count()).select_from(Ticket))
        if have != count and not (grown and have > count):
            if have:
                raise SystemExit(f"{folder} holds {have:,} tickets, not {count:,}")
            save_areas(demo_areas())
            started = time.perf_counter()
            load_tickets(count)
            print(f"loaded {count:,} tickets in {time.perf_counter() - started:.0f} s")
        db.session.remove()
        db.engine.dispose()
    return url


def portal_env(url: str, folder: str, **settings) -> dict[str, str]:
    """The environment of a `portal` command: PORTAL_* settings over this one's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_DATABASE_URL=url,
        PORTAL_INSTANCE_PATH=folder,
        PORTAL_SECRET_KEY=SECRET,
    )
    for name, value in settings.items():
        if value is not None:
            text = value if isinstance(value, str) else json.dumps(value)
            env[f"PORTAL_{name}"] = text
    return env


def start_process(argv: list[str], env=None, log: str | None = None):
    """A server in a process (and session) of its own, its output to ``log``."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
        start_new_session=True,
    )  # fmt: skip


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a server by its pid (gunicorn's arbiter stops its workers on SIGTERM)."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_answering(url: str, process=None, timeout: float = 120) -> None:
    """Poll until ``url`` answers any HTTP status (the server is up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}): {url}")
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"no answer from {url}")


def start_portal(env: dict, workers: int, log: str, *extra: str):
    """`portal serve` on a free loopback port; answers (process, base URL)."""
    port = free_port()
    argv = [PORTAL, "serve", "--port", str(port), "--workers", str(workers), *extra]
    process = start_process(argv, env, log)
    base = f"http://127.0.0.1:{port}"
    wait_answering(base + "/healthz", process)
    # Every worker up, not just the first to answer.
    deadline = time.monotonic() + 120
    while len(children(process.pid)) < workers and time.monotonic() < deadline:
        time.sleep(0.1)
    return process, base


def start_redis(folder: str):
    """A throwaway redis-server on a free loopback port; answers (process, URL)."""
    port = free_port()
    os.makedirs(folder, exist_ok=True)
    process = start_process(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", folder],
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    stop_process(process)
    raise RuntimeError("redis-server did not start")


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (gunicorn's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return sorted(found)


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes have used so far."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connections_by_process(pids: list[int], port: int) -> dict[int, int]:
    """Established TCP connections to local ``port`` held by each of ``pids``."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as rows:
            next(rows)
            for row in rows:
                fields = row.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    established.add(fields[9])  # the socket's inode
    counts = {}
    for pid in pids:
        inodes = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
        counts[pid] = len(inodes & established)
    return counts


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered), math.ceil(len(ordered) * share)) - 1)]


def start_spies(pids: list[int], folder: str | None, name: str) -> list:
    """py-spy sampling each worker until stopped (``--profile FOLDER``)."""
    if not folder:
        return []
    spy = os.path.join(os.path.dirname(sys.executable), "py-spy")
    spies = []
    for pid in pids:
        output = os.path.join(folder, f"{name}-{pid}.txt")
        argv = [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw",
                "--nonblocking", "--output", output]  # fmt: skip
        process = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        spies.append((process, output))
    return spies


def stop_spies(spies: list) -> None:
    for process, _output in spies:
        process.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
    for process, _output in spies:
        process.wait(timeout=60)
