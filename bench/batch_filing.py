"""Bulk filing: validating a 500-row CSV (target under one second), filing it, and
the time until every row is sent to the city (the built-in sandbox, in-process).

    python -m bench.batch_filing [--rows 500]
"""

import argparse
import csv
import io
import json
import statistics
import time

from shapely.geometry import Point
from shapely.geometry import shape as geometry
from sqlalchemy import func, select

from bench.common import portal_app
from portal.areas.services import list_areas
from portal.auth.services import grant_role, register_user
from portal.cityapi import get_city_api
from portal.extensions import db
from portal.liaisons import bulk
from portal.tickets.city_services import refresh_services
from portal.tickets.models import Ticket
from portal.tickets.sender import resolve_tokens, send_due

AREAS = ("fishtown", "kensington", "northern-liberties")
SERVICES = ("SBX-GR", "SBX-ALO", "SBX-DSW", "SBX-VLC", "SBX-INL")


def grid(shapes, count: int, spacing: float = 60.0) -> list[tuple[float, float]]:
    west = min(s.bounds[0] for s in shapes)
    south = min(s.bounds[1] for s in shapes)
    east = max(s.bounds[2] for s in shapes)
    north = max(s.bounds[3] for s in shapes)
    step = spacing / 111_195.0
    found, lat = [], south
    while lat < north and len(found) < count:
        lon = west
        while lon < east and len(found) < count:
            if any(s.contains(Point(lon, lat)) for s in shapes):
                found.append((round(lat, 6), round(lon, 6)))
            lon += step * 1.31  # a degree of longitude is shorter here
        lat += step
    return found


def csv_rows(points) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["service_code", "description", "lat", "lon", "attribute[RAIL]"])
    for number, (lat, lon) in enumerate(points):
        code = SERVICES[number % len(SERVICES)]
        rail = "no" if code == "SBX-GR" else ""
        writer.writerow([code, f"Row {number}: seen at the meeting", lat, lon, rail])
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    args = parser.parse_args()
    app, _folder = portal_app(
        CITY_WORKER_IN_RUN=False, SANDBOX_SEED_COUNT=0, SANDBOX_BATCH_DELAY=0
    )
    with app.app_context():
        refresh_services(get_city_api())
        chosen = [a for a in list_areas() if a.slug in AREAS]
        liaison = register_user("Liaison", "lia@example.org", "bench-password", None)
        for area in chosen:
            grant_role(liaison, "liaison", area)
        shapes = [geometry(json.loads(area.geometry)) for area in chosen]
        data = csv_rows(grid(shapes, args.rows))
        area_ids = {area.id for area in chosen}

        timings = []
        for _ in range(5):
            started = time.perf_counter()
            rows = bulk.parse_csv(data)
            checked = [bulk.check_row(row, area_ids) for row in rows]
            timings.append(time.perf_counter() - started)
        assert all(not errors for _found, errors in checked), checked[:3]
        started = time.perf_counter()
        batch, _replayed = bulk.file_batch(liaison, rows, "csv")
        filing = time.perf_counter() - started
        started = time.perf_counter()
        api = get_city_api()
        while True:
            send_due(api, worker="bench", limit=100)
            resolve_tokens(api)
            db.session.expire_all()
            waiting = db.session.scalar(
                select(func.count())
                .select_from(Ticket)
                .where(Ticket.send_state.in_(("queued", "sending")))
            )
            if not waiting:
                break
        sending = time.perf_counter() - started
        sent = db.session.scalar(
            select(func.count()).select_from(Ticket).where(Ticket.send_state == "sent")
        )
        batch_id, row_count = batch.id, len(batch.rows)
    print(f"{args.rows} rows, {len(data) / 1024:.0f} KB of CSV, database sqlite")
    print(
        f"  validating (parse + every row's checks): median "
        f"{statistics.median(timings) * 1000:.0f} ms, max {max(timings) * 1000:.0f} ms"
        " (target < 1000 ms)"
    )
    print(f"  filing (checks, duplicates, queue; one commit): {filing * 1000:.0f} ms")
    print(f"  until all {sent} rows were sent to the sandbox city: {sending:.1f} s")
    print(f"  batch {batch_id}: {row_count} rows")


if __name__ == "__main__":
    main()
