"""Bulk demo tickets for benchmarks: N plausible city tickets inside the areas, fast.

The spatial triggers are suspended during the load and the indexes rebuilt once at
the end: a million rows in minutes instead of a million trigger runs.
"""

import json
import random
from collections.abc import Callable
from datetime import timedelta

import numpy as np
import shapely
from shapely.geometry import shape
from sqlalchemy import func, insert, select

from portal.areas.models import Area
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.map import spatial, stamps
from portal.tickets.models import CityService, Ticket

BATCH = 20_000
OPEN_SHARE = 0.2
STREETS = (
    "Market St", "Chestnut St", "Walnut St", "Girard Ave", "Frankford Ave",
    "Kensington Ave", "Germantown Ave", "Ridge Ave", "Lancaster Ave", "Baltimore Ave",
    "N Broad St", "S Broad St", "Castor Ave", "Oregon Ave", "Lehigh Ave",
)  # fmt: skip
NOTES = ("Assigned to a crew.", "Inspection scheduled.", "Case resolved.")
WORDS = (
    "Reported again by neighbors", "Has been like this for weeks",
    "Near the corner", "Blocking the sidewalk", "Kids walk past here to school",
)  # fmt: skip


def _services() -> list[tuple[str, str]]:
    rows = db.session.execute(
        select(CityService.code, CityService.name).where(CityService.active)
    ).all()
    if rows:
        return [tuple(row) for row in rows]
    from portal.sandbox.catalog import SERVICES  # the demo city's list

    return [(code, name) for code, name, *_rest in SERVICES]


def _points(rng: np.random.Generator, areas: list[Area], count: int):
    """``count`` points spread over the areas in proportion to their size."""
    polygons = [shape(json.loads(area.geometry)) for area in areas]
    weights = np.array([polygon.area for polygon in polygons])
    shares = rng.multinomial(count, weights / weights.sum())
    for area, polygon, share in zip(areas, polygons, shares, strict=True):
        west, south, east, north = polygon.bounds
        shapely.prepare(polygon)
        found = 0
        while found < share:
            want = int((share - found) * 1.6) + 16
            xs = rng.uniform(west, east, want)
            ys = rng.uniform(south, north, want)
            inside = shapely.contains_xy(polygon, xs, ys)
            for x, y in list(zip(xs[inside], ys[inside], strict=True))[: share - found]:
                yield area.id, float(y), float(x)
                found += 1


def load_tickets(
    count: int, seed: int = 311, progress: Callable[[int], None] | None = None
) -> int:
    """Add ``count`` demo tickets from the last two years (a fifth open)."""
    areas = list(db.session.scalars(select(Area).order_by(Area.id)))
    if not areas:
        raise ValueError("load the demo areas first (`portal demo load`)")
    services = _services()
    rng = random.Random(seed)
    numbers = np.random.default_rng(seed)
    now = utcnow()
    start = (db.session.scalar(select(func.max(Ticket.id))) or 0) + 1
    connection = db.session.connection()
    postgresql = connection.dialect.name == "postgresql"
    spatial.drop_triggers(connection)
    # The map's stamp too (a bump per row on SQLite): moved once after the load.
    stamps.suspend_stamp(connection)
    if postgresql:
        spatial.drop_indexes(connection)
    try:
        batch = []
        for index, (area_id, lat, lon) in enumerate(_points(numbers, areas, count)):
            code, name = rng.choice(services)
            requested = now - timedelta(minutes=rng.randint(10, 2 * 365 * 24 * 60))
            is_open = rng.random() < OPEN_SHARE
            batch.append(
                {
                    "id": start + index,
                    "service_code": code,
                    "service_name": name,
                    "status": "open" if is_open else "closed",
                    "status_notes": rng.choice(NOTES),
                    "description": f"{name}: {rng.choice(WORDS)}.",
                    "lat": round(lat, 6),
                    "lon": round(lon, 6),
                    "address": f"{rng.randint(100, 7999)} {rng.choice(STREETS)}",
                    "area_id": area_id,
                    "attributes": {},
                    "requested_at": requested,
                    "city_updated_at": requested + timedelta(days=rng.randint(0, 30)),
                    "channel": "demo",
                    "attempts": 0,
                    "maybe_stored": False,
                    "created_at": now,
                    "supporters": 0,
                }
            )
            if len(batch) == BATCH:
                connection.execute(insert(Ticket.__table__), batch)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            connection.execute(insert(Ticket.__table__), batch)
            if progress:
                progress(len(batch))
    finally:
        spatial.create_triggers(connection)
        stamps.resume_stamp(connection)
        if postgresql:
            spatial.create_indexes(connection)
    spatial.rebuild(connection)
    if connection.dialect.name == "postgresql":
        # Explicit ids were inserted: move the sequence past them.
        connection.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('tickets', 'id'), "
            "(SELECT max(id) FROM tickets))"
        )
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Statistics for the planner, and the visibility map that lets nearby()
        # read ids and points from the covering index alone (autovacuum would get
        # there later).
        with db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as autocommit:
            autocommit.exec_driver_sql("VACUUM ANALYZE tickets")
            autocommit.exec_driver_sql("VACUUM ANALYZE ticket_cells")
    return count
