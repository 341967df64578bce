"""Sync ingest: the first sync pulls 100,000 open requests from the sandbox city.

Prints tickets per second and peak memory. The sandbox is reached in-process (WSGI), so
the figure is the portal's own cost plus the sandbox's rendering, without a network.
"""

import argparse
import multiprocessing
import time

import httpx
from sqlalchemy import func, select, update

from bench.common import peak_rss_mb, portal_app
from portal.cityapi.client import Open311Client
from portal.extensions import db
from portal.sandbox.seed import seed
from portal.sandbox.server import create_sandbox_app
from portal.sandbox.store import CityRequest, Store
from portal.tickets.models import Ticket
from portal.tickets.sync import pull_updates


def seed_city(url: str, count: int) -> None:
    store = Store(url)
    done = 0

    def progress(n):
        nonlocal done
        done += n
        print(f"\rseeding the sandbox: {done:,}/{count:,}", end="", flush=True)

    seed(store, count, progress=progress)
    with store.session() as session:
        session.execute(update(CityRequest).values(status="open"))
        session.commit()
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=100_000)
    args = parser.parse_args()

    app, folder = portal_app(CITY_SYNC_PAGE_SIZE=1000)
    # Seeding runs in a child process, so the peak memory printed below is the sync's.
    city_url = f"sqlite:///{folder}/city.db"
    started = time.perf_counter()
    child = multiprocessing.get_context("spawn").Process(
        target=seed_city, args=(city_url, args.requests)
    )
    child.start()
    child.join()
    seconds = time.perf_counter() - started
    print(f"seeded {args.requests:,} open requests in {seconds:.1f} s")
    sandbox = create_sandbox_app(
        {"SANDBOX_DATABASE_URL": city_url, "SANDBOX_API_KEY": "k"}
    )

    client = Open311Client(
        "http://sandbox/open311/v2", transport=httpx.WSGITransport(app=sandbox)
    )
    before = peak_rss_mb()
    with app.app_context():
        started = time.perf_counter()
        report = pull_updates(client)
        elapsed = time.perf_counter() - started
        stored = db.session.scalar(select(func.count()).select_from(Ticket))
    print(
        f"sync: {report.pages} pages, {report.seen:,} seen, {report.created:,} created"
    )
    print(f"tickets stored: {stored:,}")
    print(f"time: {elapsed:.1f} s  ->  {report.created / elapsed:,.0f} tickets/s")
    print(f"peak memory: {peak_rss_mb():.0f} MB (before the sync: {before:.0f} MB)")
    with app.app_context():
        started = time.perf_counter()
        again = pull_updates(client)
        print(
            f"repeat sync: {again.seen:,} seen, "
            f"{again.created + again.updated} changed, "
            f"{time.perf_counter() - started:.1f} s"
        )


if __name__ == "__main__":
    main()
