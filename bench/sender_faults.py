"""Sender throughput against the sandbox city with 30% injected faults of every kind.

The sandbox runs as its own process (`portal sandbox serve`) on a loopback port, so the
figure is the sender's, not a shared interpreter's. Prints tickets per second, requests
per ticket and the proof that nothing was lost or sent twice.
"""

import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

from sqlalchemy import func, select

from bench.common import peak_rss_mb, portal_app
from portal.cityapi import get_city_api
from portal.extensions import db
from portal.sandbox.catalog import SERVICES as SERVICES_CATALOG
from portal.sandbox.faults import THIRTY_PERCENT
from portal.tickets.models import Ticket
from portal.tickets.sender import send_due
from portal.tickets.services import queue_ticket

FAULTS = {**THIRTY_PERCENT, "timeout_seconds": 1.0, "seed": 11}


# Realtime services without required questions: traffic spread as a city's would be.
SERVICES = [
    code
    for code, _name, _dept, kind, _kw, _desc, questions in SERVICES_CATALOG
    if kind == "realtime" and not any(q[3] for q in questions)
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sandbox(folder: str, port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": folder,
        "PORTAL_SECRET_KEY": "bench",
        "PORTAL_SANDBOX_DATABASE_URL": f"sqlite:///{folder}/city.db",
        "PORTAL_SANDBOX_SEED_COUNT": "0",
        "PORTAL_SANDBOX_BATCH_DELAY": "0",
        "PORTAL_SANDBOX_FAULTS": json.dumps(FAULTS),
    }
    portal = os.path.join(os.path.dirname(sys.executable), "portal")
    process = subprocess.Popen(
        [portal, "sandbox", "serve", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/open311/v2/discovery.json"
            urllib.request.urlopen(url, timeout=1)
            return process
        except OSError:
            time.sleep(0.1)  # waiting for a server to listen, bounded by the deadline
    process.kill()
    raise SystemExit("the sandbox did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="portal-bench-")
    port = free_port()
    sandbox = start_sandbox(folder, port)
    try:
        app, _ = portal_app(
            folder,
            CITY_URL=f"http://127.0.0.1:{port}/open311/v2",
            CITY_API_KEY="sandbox-demo-key",
            CITY_TIMEOUT=0.5,
            CITY_RETRY_BASE=0.001,
            CITY_RETRY_MAX=0.01,
            CITY_TOKEN_POLL=0,
            CITY_MAX_ATTEMPTS=50,
        )
        with app.app_context():
            for i in range(args.tickets):
                code = SERVICES[i % len(SERVICES)]
                queue_ticket(code, lat=39.95, lon=-75.15, description=f"bench {i}")
            api = get_city_api()
            started = time.perf_counter()
            passes = attempts = 0
            while db.session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.send_state != "sent")
            ):
                send_due(api, worker="bench", limit=500)
                passes += 1
            elapsed = time.perf_counter() - started
            attempts = db.session.scalar(select(func.sum(Ticket.attempts)))
        # Count at the source: the sandbox's own file, not through the faulty API.
        with sqlite3.connect(f"{folder}/city.db") as city:
            total, distinct = city.execute(
                "SELECT count(*), count(DISTINCT description) FROM sandbox_requests"
            ).fetchone()
        print(f"tickets: {args.tickets:,} sent in {elapsed:.1f} s over {passes} passes")
        print(f"throughput: {args.tickets / elapsed:,.0f} tickets/s with 30% faults")
        print(f"attempts per ticket: {attempts / args.tickets:.2f}")
        print(f"spread over {len(SERVICES)} services")
        exact = total == distinct == args.tickets
        print(f"requests held by the city: {total:,} (exactly one per ticket: {exact})")
        print(f"peak memory: {peak_rss_mb():.0f} MB")
    finally:
        sandbox.send_signal(signal.SIGTERM)
        sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
