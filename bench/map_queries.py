"""Map queries at scale: nearby and viewports over N demo tickets (SQLite, PostgreSQL).

For each database: load N tickets (`demo load --tickets` code path), then time, on the
same random points, the raw index query, `nearby()`, and the whole HTTP API (a real
threaded server on loopback); then city-wide viewports at low zoom through HTTP, with
their sizes; then the map page's weight. Prints p50/p95 in milliseconds.

    python -m bench.map_queries --tickets 1000000 [--db sqlite|postgresql|both]
"""

import argparse
import json
import logging
import multiprocessing
import random
import statistics
import time

import httpx
from sqlalchemy import text
from werkzeug.serving import make_server

from bench.common import peak_rss_mb, portal_app
from portal import create_app
from portal.demo.tickets import load_tickets
from portal.extensions import db
from portal.map.services import BBox, nearby

CITY_BBOX = (-75.2803, 39.8670, -74.9557, 40.1380)
RUNS = 300
# The raw index work nearby() does, through the driver alone. SQLite: the candidates'
# ids and points from the R*Tree, then the rows of 500 of them.
RAW_POINTS = {
    "sqlite": (
        "SELECT id, (min_lat + max_lat) / 2, (min_lon + max_lon) / 2 "
        "FROM ticket_rtree_open WHERE max_lat >= ? AND min_lat <= ? "
        "AND max_lon >= ? AND min_lon <= ?"
    ),
    # PostgreSQL: one statement, the 500 nearest ids by the index, then their rows.
    "postgresql": (
        "SELECT id, lat, lon, status, service_code, service_name, address, "
        "requested_at, supporters, substr(description, 1, 140) FROM tickets "
        "WHERE id IN (SELECT id FROM tickets WHERE point(lon, lat) <@ "
        "box(point(%(w)s, %(s)s), point(%(e)s, %(n)s)) AND status = 'open' "
        "ORDER BY (lat - %(lat)s) ^ 2 + ((lon - %(lon)s) * 0.766) ^ 2 LIMIT 500)"
    ),
}
RAW_ROWS = {
    "sqlite": (
        "SELECT id, lat, lon, status, service_code, service_name, address, "
        "requested_at, supporters, substr(description, 1, 140) FROM tickets "
        "WHERE id IN (SELECT value FROM json_each(?))"
    ),
}
RAW_SQLITE = (
    "SELECT t.id, t.lat, t.lon, t.status, t.service_code, t.service_name, t.address, "
    "t.requested_at, t.supporters, substr(t.description, 1, 140) "
    "FROM ticket_rtree_open r JOIN tickets t ON t.id = r.id "
    "WHERE r.max_lat >= :s AND r.min_lat <= :n AND r.max_lon >= :w AND r.min_lon <= :e"
)
RAW_POSTGRESQL = (
    "SELECT id, lat, lon, status, service_code, service_name, address, requested_at, "
    "supporters, substr(description, 1, 140) FROM tickets "
    "WHERE point(lon, lat) <@ box(point(:w, :s), point(:e, :n)) AND status = 'open'"
)


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return f"p50 {statistics.median(ordered) * 1000:6.2f} ms  p95 {p95 * 1000:6.2f} ms"


def timed(call, points) -> tuple[list[float], list]:
    samples, results = [], []
    for point in points:
        started = time.perf_counter()
        results.append(call(point))
        samples.append(time.perf_counter() - started)
    return samples, results


def _serve(url: str, folder: str, ports) -> None:
    """The portal in its own process, as deployed: the client does not share its
    interpreter (or its GIL)."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            "CITY_WORKER_IN_RUN": False,
        }
    )
    app.instance_path = folder
    server = make_server("127.0.0.1", 0, app, threaded=True)
    ports.put(server.server_port)
    server.serve_forever(poll_interval=0.05)


def serve(app, folder):
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    process = context.Process(target=_serve, args=(url, folder, ports), daemon=True)
    process.start()
    return process, ports.get(timeout=120)


def run(label: str, url: str | None, count: int) -> None:
    print(f"== {label}: {count:,} tickets")
    overrides = {"SQLALCHEMY_DATABASE_URI": url} if url else {}
    app, folder = portal_app(**overrides)
    with app.app_context():
        # The map page at 1,000 tickets, then again with all of them (below).
        load_tickets(1000)
        small_page = len(app.test_client().get("/map").data)
        print(f"map page at 1,000 tickets: {small_page / 1024:.1f} KB")
        started = time.perf_counter()
        load_tickets(count - 1000)
        print(f"load {count - 1000:,}: {time.perf_counter() - started:.1f} s")
        rng = random.Random(7)
        points = [
            (row.lat, row.lon)
            for row in db.session.execute(
                text(
                    "SELECT lat, lon FROM tickets WHERE status = 'open' AND id % 97 = 0"
                    " LIMIT 2000"
                )
            )
        ]
        points = [rng.choice(points) for _ in range(RUNS)]
        raw_sql = text(RAW_SQLITE if label == "sqlite" else RAW_POSTGRESQL)
        if label == "postgresql":
            db.session.execute(text("SET max_parallel_workers_per_gather = 0"))

        def raw(point):
            box = BBox.around(*point, 1000)
            params = {"w": box.west, "s": box.south, "e": box.east, "n": box.north}
            return db.session.execute(raw_sql, params).all()

        driver = db.session.connection().connection.driver_connection

        def raw_index(point):
            box = BBox.around(*point, 1000)
            cursor = driver.cursor()
            if label == "sqlite":
                cursor.execute(
                    RAW_POINTS[label], (box.south, box.north, box.west, box.east)
                )
                ids = [row[0] for row in cursor.fetchall()][:500]
                cursor.execute(RAW_ROWS[label], (json.dumps(ids),))
            else:
                bounds = {"w": box.west, "s": box.south, "e": box.east, "n": box.north}
                cursor.execute(
                    RAW_POINTS[label], {**bounds, "lat": point[0], "lon": point[1]}
                )
            rows = cursor.fetchall()
            cursor.close()
            return rows

        def service(point):
            return nearby(*point, 1000, limit=500)

        for call in (raw, raw_index, service):  # warm the caches once
            timed(call, points[:30])
        raw_times, raw_rows = timed(raw, points)
        index_times, _rows = timed(raw_index, points)
        near_times, near_rows = timed(service, points)
        print(f"one-statement join, 1 km, open: {percentiles(raw_times)}")
        print(f"raw index query (driver only): {percentiles(index_times)}")
        print(f"nearby(), 1 km, up to 500:     {percentiles(near_times)}")
        sizes = [len(rows) for rows in near_rows]
        print(
            f"  tickets returned: median {statistics.median(sizes):.0f}, "
            f"max {max(sizes)}; candidates in box: median "
            f"{statistics.median(len(r) for r in raw_rows):.0f}"
        )
        ratio = (
            sorted(near_times)[int(RUNS * 0.95) - 1]
            / sorted(index_times)[int(RUNS * 0.95) - 1]
        )
        print(f"  p95 nearby() / p95 raw index query: {ratio:.2f}")
        db.session.rollback()

    process, port = serve(app, folder)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base) as client:

            def http_near(point):
                answer = client.get(
                    "/api/v1/tickets",
                    params={"near": f"{point[0]},{point[1]}", "radius": 1000},
                )
                answer.raise_for_status()
                return answer

            timed(http_near, points[:30])
            http_times, _answers = timed(http_near, points)
            print(f"HTTP nearby, 1 km:             {percentiles(http_times)}")

            def http_view(zoom):
                bbox = ",".join(str(v) for v in CITY_BBOX)
                answer = client.get(
                    "/api/v1/tickets", params={"bbox": bbox, "zoom": zoom}
                )
                answer.raise_for_status()
                return answer

            for zoom in (10, 11, 12):
                times, answers = timed(http_view, [zoom] * 100)
                body = answers[0].json()
                print(
                    f"HTTP city-wide view, zoom {zoom}:  {percentiles(times)}  "
                    f"{len(answers[0].content) / 1024:.1f} KB, "
                    f"{len(body['features'])} clusters"
                )
            page = client.get("/map")
            print(f"map page at {count:,} tickets: {len(page.content) / 1024:.1f} KB")
    finally:
        process.terminate()
        process.join()
    print(f"peak memory: {peak_rss_mb():.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument(
        "--db", choices=("sqlite", "postgresql", "both"), default="both"
    )
    args = parser.parse_args()
    if args.db in ("sqlite", "both"):
        run("sqlite", None, args.tickets)
    if args.db in ("postgresql", "both"):
        from tests import pg

        # A production-sized buffer cache (the test server keeps PostgreSQL's
        # 128 MB default); a million tickets with their indexes take about 600 MB.
        server = pg.start(settings={"shared_buffers": "1GB"})
        try:
            run("postgresql", pg.create_database(server, "bench"), args.tickets)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
