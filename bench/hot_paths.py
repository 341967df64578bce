"""The read hot paths, in process: milliseconds per request through the Flask app.

Loads N demo tickets once (kept in ``--keep DIR`` to measure again after a change),
gives every ticket a city id (the GeoReport listing shows only those), then times,
through ``app.test_client()``: nearby (100 results), viewports at zoom 12 and 15, the
ticket page, the GeoReport listing, an area page and the map page, each also as a
conditional GET where the route sends a validator. ``--profile ROUTE`` prints a
cProfile of that route instead.

    python -m bench.hot_paths --tickets 1000000 --keep DIR [--db sqlite|postgresql]
    python -m bench.hot_paths --keep DIR --url postgresql+psycopg://...  (kept too)
"""

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import time

from flask_migrate import upgrade
from sqlalchemy import func, select, text

from bench.common import portal_app
from portal import create_app
from portal.areas.models import Area
from portal.demo.tickets import load_tickets
from portal.extensions import db
from portal.tickets.models import Ticket

RUNS = 300
# A 1280 x 800 pixel window: the degrees it spans at a zoom (Web Mercator, 256 px
# tiles; latitude shrunk by cos(40°) for Philadelphia).
WINDOW = (1280, 800)


def window_box(lat: float, lon: float, zoom: int) -> str:
    per_pixel = 360.0 / (256 * (1 << zoom))
    half_w = WINDOW[0] * per_pixel / 2
    half_h = WINDOW[1] * per_pixel * 0.766 / 2
    return f"{lon - half_w},{lat - half_h},{lon + half_w},{lat + half_h}"


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered) * 1000:6.2f}  p95 {p95 * 1000:6.2f}"


def timed(call) -> tuple[float, float, object]:
    """Wall and CPU seconds of one call (CPU: this process's own, which holds
    SQLite's work but not PostgreSQL's)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def prepare(count: int, keep: str | None, url: str | None):
    """The app on a database holding ``count`` tickets (made once per ``keep``)."""
    overrides = {"SQLALCHEMY_DATABASE_URI": url} if url else {}
    if keep and os.path.exists(os.path.join(keep, "ready")):
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url or f"sqlite:///{keep}/portal.db",
            }
        )
        app.instance_path = keep
        with app.app_context():
            upgrade()  # a new migration of the code under test
        return app
    if keep:
        os.makedirs(keep, exist_ok=True)
    app, folder = portal_app(keep, **overrides)
    with app.app_context():
        started = time.perf_counter()
        load_tickets(count)
        # What the city knows: the listing serves tickets with a city id only.
        db.session.execute(text("UPDATE tickets SET city_id = 'PHL-' || id"))
        db.session.commit()
        print(f"loaded {count:,} tickets in {time.perf_counter() - started:.0f} s")
    open(os.path.join(folder, "ready"), "w").close()
    return app


def routes(app) -> dict[str, list[str]]:
    """Each measured route's URLs: the same random places and tickets every run."""
    rng = random.Random(7)
    with app.app_context():
        points = db.session.execute(
            text(
                "SELECT lat, lon FROM tickets WHERE status = 'open' AND id % 97 = 0"
                " LIMIT 2000"
            )
        ).all()
        top = db.session.scalar(select(func.max(Ticket.id)))
        slugs = list(db.session.scalars(select(Area.slug)))
    places = [rng.choice(points) for _ in range(RUNS)]
    return {
        "nearby 1 km, 100": [
            f"/api/v1/tickets?near={lat},{lon}&radius=1000&limit=100"
            for lat, lon in places
        ],
        "viewport zoom 12": [
            f"/api/v1/tickets?bbox={window_box(lat, lon, 12)}&zoom=12"
            for lat, lon in places
        ],
        "viewport zoom 15": [
            f"/api/v1/tickets?bbox={window_box(lat, lon, 15)}&zoom=15"
            for lat, lon in places
        ],
        "viewport zoom 17": [
            f"/api/v1/tickets?bbox={window_box(lat, lon, 17)}&zoom=17"
            for lat, lon in places
        ],
        "ticket page": [f"/tickets/{rng.randint(1, top)}" for _ in range(RUNS)],
        "GeoReport listing (1000)": [
            f"/open311/v2/requests.json?page={rng.randint(1, 200)}"
            for _ in range(RUNS // 3)
        ],
        "GeoReport listing (100)": [
            f"/open311/v2/requests.json?page_size=100&page={rng.randint(1, 2000)}"
            for _ in range(RUNS)
        ],
        "area page": [f"/areas/{rng.choice(slugs)}" for _ in range(RUNS // 3)],
        "map page": [f"/map?near={lat},{lon}" for lat, lon in places[: RUNS // 3]],
    }


def measure(client, urls: list[str]) -> dict[str, list[float]]:
    """Times of plain GETs, and of GETs sending back the validator they got."""
    times = {"wall": [], "cpu": [], "wall 304": [], "cpu 304": []}
    for url in urls[:20]:  # warm the caches
        client.get(url)
    for url in urls:
        wall, cpu, answer = timed(lambda url=url: client.get(url))
        assert answer.status_code == 200, (url, answer.status_code)
        times["wall"].append(wall)
        times["cpu"].append(cpu)
        etag = answer.headers.get("ETag")
        if etag:
            wall, cpu, again = timed(
                lambda url=url, etag=etag: client.get(
                    url, headers={"If-None-Match": etag}
                )
            )
            if again.status_code == 304:
                times["wall 304"].append(wall)
                times["cpu 304"].append(cpu)
    return times


def profile(client, urls: list[str]) -> None:
    for url in urls[:20]:
        client.get(url)
    profiler = cProfile.Profile()
    profiler.enable()
    for url in urls:
        client.get(url)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(45)
    print(f"{len(urls)} requests")
    print(out.getvalue())


def run(label, count: int, keep: str | None, url: str | None, only, pick="") -> None:
    print(f"== {label}: {count:,} tickets")
    app = prepare(count, keep, url)
    client = app.test_client()
    table = routes(app)
    if only:
        profile(client, table[only])
        return
    print(f"{'ms per request':26} {'wall':20}  {'CPU':20}  {'CPU of a 304':20}")
    for name, urls in table.items():
        if pick not in name:
            continue
        times = measure(client, urls)
        line = f"{name:26} {percentiles(times['wall'])}  {percentiles(times['cpu'])}"
        if times["cpu 304"]:
            line += f"  {percentiles(times['cpu 304'])} ({len(times['cpu 304'])} x 304)"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--keep", help="folder keeping the loaded database")
    parser.add_argument("--profile", metavar="ROUTE", help="e.g. 'nearby 1 km, 100'")
    parser.add_argument("--only", default="", help="routes whose name holds this")
    parser.add_argument(
        "--url", help="a PostgreSQL database to use (and keep) instead of a new server"
    )
    args = parser.parse_args()
    if args.url:
        run("postgresql", args.tickets, args.keep, args.url, args.profile, args.only)
        return
    if args.db == "sqlite":
        run("sqlite", args.tickets, args.keep, None, args.profile, args.only)
        return
    from tests import pg

    # A PostgreSQL server lives as long as this run: its data is loaded each time.
    server = pg.start(settings={"shared_buffers": "1GB"})
    try:
        url = pg.create_database(server, "bench")
        run("postgresql", args.tickets, None, url, args.profile, args.only)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
