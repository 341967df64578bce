"""The city link per sandbox dialect, alone and all at once, through 30% faults."""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.engine import make_url

from bench.common import portal_app
from portal.cityapi import address_fields
from portal.cityapi.client import Open311Client
from portal.cityapi.errors import CityAPIError
from portal.extensions import db
from portal.sandbox import city
from portal.sandbox.catalog import SERVICES as CATALOG
from portal.sandbox.dialects import ALL
from portal.sandbox.faults import THIRTY_PERCENT
from portal.sandbox.store import CityRequest, Store
from portal.tickets.city_services import refresh_services
from portal.tickets.models import CityService, Ticket, TicketEvent
from portal.tickets.sender import send_due
from portal.tickets.services import queue_ticket, ref_in

FAULTS = {**THIRTY_PERCENT, "timeout_seconds": 1.0, "seed": 11}
# Below the city's slow answers, so a "timeout" fault is a lost answer to the client.
CITY_TIMEOUT = 0.8
# Realtime services without required questions, by catalog name: seeclickfix renames
# the codes, never the names.
PLAIN = [
    name
    for _code, name, _dept, kind, _kw, _desc, questions in CATALOG
    if kind == "realtime" and not any(q[3] for q in questions)
]
# What test_dialect_link.settle() waits for: nothing queued, sending or confirming, and
# every token turned into an id.
UNSETTLED = Ticket.send_state.in_(("queued", "sending", "confirming")) | (
    (Ticket.send_state == "sent") & Ticket.city_id.is_(None)
)
# Werkzeug's access log lines; it colours those of statuses other than 200.
ACCESS = re.compile(r'"(?:\x1b\[[\d;]*m)*(GET|POST) /open311/v2/')
COLUMNS = (
    f"{'dialect':<24}{'tickets':>8}{'at city':>8}{'dups':>5}{'refs':>6}{'lost':>5}"
    f"{'passes':>7}{'http/t':>7}{'log/t':>7}{'post/t':>7}{'att mean':>9}"
    f"{'max':>4}{'confirm':>8}{'held':>5}{'seconds':>8}"
)


class CountingTransport(httpx.HTTPTransport):
    """Counts every request the client puts on the wire, by method."""

    def __init__(self):
        super().__init__()
        self.counts = Counter()

    def handle_request(self, request):
        self.counts[request.method] += 1
        return super().handle_request(request)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_sandbox(folder: str, port: int, dialects) -> subprocess.Popen:
    """`portal sandbox serve` in its own process; its access log goes to sandbox.log."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PORTAL_")  # nothing of the caller's portal leaks in
    }
    env.update(
        PORTAL_INSTANCE_PATH=folder,
        PORTAL_SECRET_KEY="bench",
        PORTAL_SANDBOX_DATABASE_URL=f"sqlite:///{folder}/city.db",
        PORTAL_SANDBOX_SEED_COUNT="0",
        PORTAL_SANDBOX_BATCH_DELAY="0",
        PORTAL_SANDBOX_FAULTS=json.dumps(FAULTS),
        PORTAL_SANDBOX_DIALECT=",".join(dialects),
    )
    portal = os.path.join(os.path.dirname(sys.executable), "portal")
    with open(f"{folder}/sandbox.log", "wb") as log:
        process = subprocess.Popen(
            [portal, "sandbox", "serve", "--port", str(port)], env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            # Listening is enough: an HTTP probe would meet the faults and the dialects
            # (no_discovery) and add to the city's log.
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.2)  # waiting for the server to listen, bounded by the deadline
    stop(process)
    raise SystemExit(f"the sandbox did not start; see {folder}/sandbox.log")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def logged_requests(folder: str) -> int:
    with open(f"{folder}/sandbox.log", errors="replace") as log:
        return sum(1 for line in log if ACCESS.search(line))


def fetch_services(api) -> dict[str, str]:
    """The service list through the faults (a failed read is retried, as the worker's
    next pass would); answers catalog name -> the code this city gives it."""
    for _attempt in range(100):
        try:
            refresh_services(api)
            break
        except CityAPIError:
            db.session.rollback()
    else:
        raise SystemExit("the service list could not be read in 100 tries")
    rows = db.session.scalars(select(CityService).where(CityService.active))
    return {row.name: row.code for row in rows}


def drain(api, store: Store, label: str, deadline: float) -> int:
    """test_dialect_link.settle() with progress: send until settled, the city's staff
    publishing hidden requests when a pass leaves tickets confirming, or every third
    pass. Answers the passes."""
    passes, shown = 0, time.monotonic()
    while True:
        db.session.expire_all()
        left = dict(
            db.session.execute(
                select(Ticket.send_state, func.count())
                .where(UNSETTLED)
                .group_by(Ticket.send_state)
            ).all()
        )
        if not left or time.monotonic() > deadline:
            return passes
        if time.monotonic() - shown > 10:
            shown = time.monotonic()
            print(f"  {label}: pass {passes}, left {left}", file=sys.stderr, flush=True)
        # No waiting out the backoff: the next pass takes every one that is left.
        db.session.execute(
            update(Ticket).where(UNSETTLED).values(next_attempt_at=datetime.now(UTC))
        )
        db.session.commit()
        send_due(api, worker="bench", limit=500)
        passes += 1
        if "confirming" in left or passes % 3 == 0:
            city.publish_all(store)


def history(ticket: Ticket, rows: list[CityRequest]) -> None:
    """A ticket that went wrong: its events and the city's rows carrying its ref."""
    print(
        f"    ticket {ticket.id} ref {ticket.ref} state {ticket.send_state} city_id "
        f"{ticket.city_id} token {ticket.token} attempts {ticket.attempts}"
    )
    for event in ticket.events:
        print(
            f"      {event.at:%H:%M:%S.%f} {event.kind:<10} {event.source:<6} "
            f"{event.new_status or '':<8} {event.notes or ''}"
        )
    for row in rows:
        print(
            f"      city row {row.id} public_id {row.public_id} token {row.token} "
            f"hidden {row.hidden} requested {row.requested:%H:%M:%S.%f}"
        )


def run(label: str, dialects, tickets: int, database: str | None, limit: float):
    """One sandbox with these dialects and one fresh portal; answers the figures."""
    folder = tempfile.mkdtemp(prefix="portal-bench-dialects-")
    port = free_port()
    sandbox = start_sandbox(folder, port, dialects)
    try:
        app, _ = portal_app(
            folder,
            SQLALCHEMY_DATABASE_URI=database or f"sqlite:///{folder}/portal.db",
            CITY_URL=f"http://127.0.0.1:{port}/open311/v2",
            CITY_API_KEY="sandbox-demo-key",
            CITY_TIMEOUT=CITY_TIMEOUT,
            CITY_RETRY_BASE=0.001,
            CITY_RETRY_MAX=0.01,
            CITY_TOKEN_POLL=0,
            # 30% faults on searches and POSTs alike: 8 attempts would fail a few
            # tickets by chance, which is not what this measures.
            CITY_MAX_ATTEMPTS=50,
        )
        # The client build_client() makes, on a transport that counts what it sends.
        transport = CountingTransport()
        api = Open311Client(
            app.config["CITY_URL"],
            api_key=app.config["CITY_API_KEY"],
            timeout=CITY_TIMEOUT,
            default_tz=ZoneInfo(app.config["CITY_TIMEZONE"]),
            transport=transport,
            address_fields=address_fields(app.config.get("CITY_ADDRESS_FIELDS")),
        )
        # The city's staff: the sandbox process's own SQLite file, opened from here.
        store = Store(f"sqlite:///{folder}/city.db")
        with app.app_context():
            by_name = fetch_services(api)
            codes = [by_name[name] for name in PLAIN]
            for number in range(tickets):
                queue_ticket(
                    codes[number % len(codes)],
                    lat=39.95 + number * 1e-5,
                    lon=-75.15,
                    description=f"bench {number}",
                    commit=False,
                )
            db.session.commit()
            transport.counts.clear()  # the drain's requests only, not the set-up's
            logged_before = logged_requests(folder)
            started = time.perf_counter()
            passes = drain(api, store, label, time.monotonic() + limit)
            elapsed = time.perf_counter() - started
            figures = tally(store, tickets)
            figures.update(
                label=label,
                passes=passes,
                seconds=elapsed,
                http=sum(transport.counts.values()) / tickets,
                logged=(logged_requests(folder) - logged_before) / tickets,
                posts=transport.counts["POST"] / tickets,
            )
            db.session.remove()
            db.engine.dispose()
        api.close()
        store.dispose()
    finally:
        stop(sandbox)
    if figures["dups"] or figures["lost"]:
        print(f"    kept for a look: {folder}", file=sys.stderr)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return figures


def tally(store: Store, tickets: int) -> dict:
    """Count at the source: the city's rows by the ref each description carries."""
    with store.session() as session:
        rows = list(session.scalars(select(CityRequest).order_by(CityRequest.id)))
    by_ref: dict[str, list[CityRequest]] = {}
    for row in rows:
        by_ref.setdefault(ref_in(row.description), []).append(row)
    all_tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    twice = [t for t in all_tickets if len(by_ref.get(t.ref, ())) > 1]
    # Lost: not at the city, unless held, where an admin sees it and decides.
    lost = [t for t in all_tickets if t.ref not in by_ref and t.send_state != "held"]
    # Sent, yet not at the city, or at the city yet not known sent: also lost.
    lost += [
        t
        for t in all_tickets
        if t.ref in by_ref and (t.send_state != "sent" or not t.city_id)
    ]
    went = dict(
        db.session.execute(
            select(TicketEvent.kind, func.count(TicketEvent.ticket_id.distinct()))
            .where(TicketEvent.kind.in_(("confirming", "held")))
            .group_by(TicketEvent.kind)
        ).all()
    )
    for ticket in twice + lost:
        history(ticket, by_ref.get(ticket.ref, []))
    attempts = [t.attempts for t in all_tickets]
    return {
        "tickets": len(all_tickets),
        "at_city": len(rows),
        "dups": len(rows) - len(by_ref),
        "refs": len(by_ref),
        "lost": len(lost) + max(0, tickets - len(all_tickets)),
        "attempts": sum(attempts) / max(1, len(attempts)),
        "most": max(attempts, default=0),
        "confirming": went.get("confirming", 0),
        "held": went.get("held", 0),
    }


def line(f: dict) -> str:
    return (
        f"{f['label']:<24}{f['tickets']:>8}{f['at_city']:>8}{f['dups']:>5}"
        f"{f['refs']:>6}{f['lost']:>5}{f['passes']:>7}{f['http']:>7.2f}"
        f"{f['logged']:>7.2f}{f['posts']:>7.2f}{f['attempts']:>9.2f}{f['most']:>4}"
        f"{f['confirming']:>8}{f['held']:>5}{f['seconds']:>8.1f}"
    )


class Databases:
    """A fresh PostgreSQL database per run on one server, dropped after it (None:
    SQLite files in each run's folder)."""

    def __init__(self, url: str | None):
        self.url = url and make_url(url)
        if self.url is not None and self.url.drivername == "postgresql":
            self.url = self.url.set(drivername="postgresql+psycopg")  # psycopg 3
        self.made = 0

    def fresh(self) -> str | None:
        if self.url is None:
            return None
        self.made += 1
        name = f"bench_dialects_{os.getpid()}_{self.made}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str | None) -> None:
        if url is not None:
            name = make_url(url).database
            self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql(statement)
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument(
        "--dialect",
        action="append",
        choices=(*ALL, "all"),
        help="a dialect to run alone, or 'all': all at once (default: each, then all)",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server (postgresql://user@host/db) on which each run gets "
        "a fresh database of its own, dropped afterwards (needs CREATEDB)",
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL on loopback (tests/pg.py) for the portal",
    )
    parser.add_argument(
        "--limit", type=float, default=1800, help="seconds a drain may take at most"
    )
    args = parser.parse_args()
    chosen = args.dialect or [*ALL, "all"]
    server = None
    if args.postgres:
        from tests import pg

        server = pg.start()
        args.database_url = server.url("postgres")
    databases = Databases(args.database_url)
    where = "PostgreSQL" if args.database_url else "SQLite"
    print(f"{args.tickets} tickets per run, portal on {where}, faults {FAULTS}, "
          f"client timeout {CITY_TIMEOUT} s", flush=True)  # fmt: skip
    print(COLUMNS, flush=True)
    failed = False
    try:
        for name in chosen:
            dialects = ALL if name == "all" else (name,)
            label = "all-at-once" if name == "all" else name
            print(f"  {label}: starting", file=sys.stderr, flush=True)
            url = databases.fresh()
            try:
                figures = run(label, dialects, args.tickets, url, args.limit)
            finally:
                databases.drop(url)
            print(line(figures), flush=True)
            failed = failed or bool(figures["dups"] or figures["lost"])
    finally:
        if server is not None:
            server.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
