"""Spatial ticket queries: nearest first, and what a map viewport shows (tickets or
clusters), each answered from an index so no answer grows with the city's size."""

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
    type_coerce,
)
from sqlalchemy.sql import Select

from portal.extensions import db
from portal.map import spatial
from portal.map.models import TicketCell
from portal.tickets.models import Ticket

EARTH_RADIUS = 6_371_008.8  # metres, mean
METRES_PER_DEGREE = math.pi * EARTH_RADIUS / 180
INDIVIDUAL_ZOOM = 16  # from this zoom on, a viewport shows single tickets
OPEN_ONLY = (spatial.OPEN,)
CELL_BUDGET = 2500  # at most this many grid cells in one viewport answer
EXCERPT = 140  # characters of the description a marker carries

_T = Ticket.__table__.c  # Core columns: no ORM loading step for summary rows
SUMMARY_COLUMNS = (
    _T.id,
    _T.lat,
    _T.lon,
    _T.status,
    _T.service_code,
    _T.service_name,
    _T.address,
    # Raw from the driver (SQLite: text, PostgreSQL: datetime), turned into ISO 8601
    # only for the rows answered; see iso_utc().
    type_coerce(_T.requested_at, String).label("requested_at"),
    _T.supporters,
    func.substr(_T.description, 1, EXCERPT).label("excerpt"),
)
_RTREE_COLUMNS = ("id", "min_lat", "max_lat", "min_lon", "max_lon")
RTREE_ALL = table("ticket_rtree", *(column(name) for name in _RTREE_COLUMNS))
RTREE_OPEN = table("ticket_rtree_open", *(column(name) for name in _RTREE_COLUMNS))


@dataclass(frozen=True)
class TicketFilter:
    """What a map or list shows; ``None`` means no restriction."""

    statuses: tuple[str, ...] | None = (spatial.OPEN,)
    service_codes: tuple[str, ...] | None = None
    since: datetime | None = None
    area_id: int | None = None

    @property
    def open_only(self) -> bool:
        return self.statuses == (spatial.OPEN,)


@dataclass(frozen=True)
class BBox:
    west: float
    south: float
    east: float
    north: float

    @classmethod
    def around(cls, lat: float, lon: float, radius: float) -> "BBox":
        dlat = radius / METRES_PER_DEGREE
        dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
        return cls(lon - dlon, lat - dlat, lon + dlon, lat + dlat)


def iso_utc(value) -> str | None:
    """ISO 8601 for a summary row's raw UTC time (SQLite text or a datetime)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value.replace(" ", "T") + "+00:00"


def utc_time(value) -> datetime | None:
    """A summary row's raw UTC time as an aware datetime."""
    text = iso_utc(value)
    return datetime.fromisoformat(text) if text else None


def distance(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Metres between two points (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS * math.asin(min(1.0, math.sqrt(a)))


@lru_cache(maxsize=256)
def _box_query(dialect: str, filters: TicketFilter, limited: bool) -> Select:
    """Summary rows in the box given as parameters w, s, e, n (and ``limit``),
    through the spatial index of this database; built once per filter set."""
    west, south, east, north = (bindparam(name) for name in "wsen")
    query = select(*SUMMARY_COLUMNS)
    if dialect == "sqlite":
        tree = RTREE_OPEN if filters.open_only else RTREE_ALL
        # The R*Tree keeps 32-bit bounds rounded outwards: test overlap, then the
        # exact coordinates (a point's rounded bounds only narrow the search).
        query = query.join(tree, tree.c.id == _T.id).where(
            tree.c.max_lat >= south,
            tree.c.min_lat <= north,
            tree.c.max_lon >= west,
            tree.c.min_lon <= east,
        )
        query = query.where(_T.lat.between(south, north), _T.lon.between(west, east))
    else:
        query = query.where(
            literal_column("point(tickets.lon, tickets.lat)").op("<@")(
                func.box(func.point(west, south), func.point(east, north))
            )
        )
    # (No lat/lon ranges on PostgreSQL: "<@ box" is exact for points, and ranges
    # would tempt the planner onto the (status, lat, lon) B-tree.)
    query = _filtered(query, filters)
    return query.limit(bindparam("limit")) if limited else query


def _in_box(box: BBox, filters: TicketFilter, limit: int | None = None):
    query = _box_query(db.engine.dialect.name, filters, limit is not None)
    params = {"w": box.west, "s": box.south, "e": box.east, "n": box.north}
    if limit is not None:
        params["limit"] = limit
    return db.session.execute(query, params)


def _filtered(query: Select, filters: TicketFilter) -> Select:
    if filters.statuses is not None:
        # "= 'open'" (not IN) so PostgreSQL matches its partial index.
        if len(filters.statuses) == 1:
            query = query.where(_T.status == filters.statuses[0])
        else:
            query = query.where(_T.status.in_(filters.statuses))
    if filters.service_codes is not None:
        query = query.where(_T.service_code.in_(filters.service_codes))
    if filters.since is not None:
        query = query.where(_T.requested_at >= filters.since)
    if filters.area_id is not None:
        query = query.where(_T.area_id == filters.area_id)
    return query


def _candidates(box: BBox, filters: TicketFilter) -> list[tuple]:
    """SQLite: (id, lat, lon) of the tickets in a box, from the R*Tree alone when it
    can answer (its 32-bit centres are good to a few centimetres)."""
    bounds = (box.south, box.north, box.west, box.east)
    plain = filters.service_codes is None and filters.since is None
    if plain and filters.area_id is None and filters.statuses in (None, OPEN_ONLY):
        tree = "ticket_rtree_open" if filters.open_only else "ticket_rtree"
        # The driver's own cursor: thousands of plain tuples, no result rows to
        # build (a third of nearby()'s time otherwise).
        cursor = db.session.connection().connection.cursor()
        try:
            cursor.execute(
                f"SELECT id, (min_lat + max_lat) / 2, (min_lon + max_lon) / 2 "
                f"FROM {tree} WHERE max_lat >= ? AND min_lat <= ? "
                "AND max_lon >= ? AND min_lon <= ?",
                bounds,
            )
            return cursor.fetchall()
        finally:
            cursor.close()
    params = dict(zip("snwe", bounds, strict=True))
    return db.session.execute(_point_query(filters), params).all()


@lru_cache(maxsize=256)
def _point_query(filters: TicketFilter):
    """SQLite, with filters the R*Tree cannot answer: ids and points via tickets."""
    query = _box_query("sqlite", filters, False)
    return query.with_only_columns(_T.id, _T.lat, _T.lon)


@lru_cache(maxsize=1)
def _rows_by_id():
    # SQLite: one JSON parameter for the whole list, not one placeholder per id
    # rendered anew on every call.
    ids = select(literal_column("value")).select_from(func.json_each(bindparam("ids")))
    return select(*SUMMARY_COLUMNS).where(_T.id.in_(ids.scalar_subquery()))


@lru_cache(maxsize=256)
def _nearest_query(filters: TicketFilter):
    """PostgreSQL, one statement: the nearest ids from the covering index (an
    index-only scan and a sort), then only their rows."""
    squared = (_T.lat - bindparam("lat")) * (_T.lat - bindparam("lat")) * bindparam(
        "ky2"
    ) + (_T.lon - bindparam("lon")) * (_T.lon - bindparam("lon")) * bindparam("kx2")
    nearest = (
        _box_query("postgresql", filters, False)
        .with_only_columns(_T.id)
        .where(squared <= bindparam("reach"))
        .order_by(squared)
        .limit(bindparam("limit"))
    )
    return select(*SUMMARY_COLUMNS).where(_T.id.in_(nearest.scalar_subquery()))


def _nearest_rows(lat, lon, radius, filters, limit, kx, ky) -> list:
    box = BBox.around(lat, lon, radius)
    reach = (radius + 1.0) ** 2  # a metre of slack for the R*Tree's rounding
    if db.engine.dialect.name == "postgresql":
        params = {"w": box.west, "s": box.south, "e": box.east, "n": box.north}
        params.update(lat=lat, lon=lon, kx2=kx * kx, ky2=ky * ky, reach=reach)
        return db.session.execute(
            _nearest_query(filters), {**params, "limit": limit}
        ).all()
    near = []
    for ticket_id, y, x in _candidates(box, filters):
        dx, dy = (x - lon) * kx, (y - lat) * ky
        squared = dx * dx + dy * dy
        if squared <= reach:
            near.append((squared, ticket_id))
    near.sort()
    ids = [ticket_id for _squared, ticket_id in near[:limit]]
    if not ids:
        return []
    return db.session.execute(_rows_by_id(), {"ids": json.dumps(ids)}).all()


def nearby(
    lat: float,
    lon: float,
    radius: float,
    filters: TicketFilter = TicketFilter(),
    limit: int = 500,
) -> list[tuple]:
    """Tickets within ``radius`` metres, nearest first: (distance, row) pairs.

    Only the rows answered are read in full: the ids and points in the box come
    from the index, and the ``limit`` nearest of them are fetched.
    """
    # Equirectangular distance: within 5 km it differs from the great circle by far
    # less than a metre, at a fraction of the cost per candidate row.
    ky = METRES_PER_DEGREE
    kx = ky * math.cos(math.radians(lat))
    found = []
    limit_squared = radius * radius
    for row in _nearest_rows(lat, lon, radius, filters, limit + 8, kx, ky):
        dx, dy = (row[2] - lon) * kx, (row[1] - lat) * ky
        squared = dx * dx + dy * dy
        if squared <= limit_squared:
            found.append((squared, row))
    found.sort(key=itemgetter(0))
    return [(math.sqrt(squared), row) for squared, row in found[:limit]]


def tickets_in_view(
    box: BBox, zoom: int, filters: TicketFilter = TicketFilter(), limit: int = 500
) -> dict:
    """What a map shows: single tickets at street zoom, clusters below it.

    Answers ``{"tickets": rows}`` or ``{"clusters": [...]}``. A street-zoom view
    holding more than ``limit`` tickets is answered with the finest clusters instead,
    so nothing is silently left out.
    """
    if zoom >= INDIVIDUAL_ZOOM and _cells_across(box, spatial.MAX_LEVEL) <= CELL_BUDGET:
        rows = _in_box(box, filters, limit + 1).all()
        if len(rows) <= limit:
            return {"tickets": rows}
    return {"clusters": clusters(box, zoom, filters)}


def _cells_across(box: BBox, grid: int) -> float:
    size = 360.0 / (1 << (grid + 2))
    return ((box.east - box.west) / size + 1) * ((box.north - box.south) / size + 1)


def _grid_for(box: BBox, zoom: int) -> int:
    grid = min(zoom, spatial.MAX_LEVEL)
    while grid > 0 and _cells_across(box, grid) > CELL_BUDGET:
        grid -= 1
    return grid


def clusters(box: BBox, zoom: int, filters: TicketFilter) -> list[dict]:
    """Grid clusters (count, centroid, status mix, cell bounds) covering ``box``."""
    grid = _grid_for(box, zoom)
    level = max(grid, spatial.MIN_LEVEL)
    merge = 1 << (level - grid)  # lower zooms merge cells of the coarsest level
    x0, y0 = spatial.cell_of(box.south, box.west, level)
    x1, y1 = spatial.cell_of(box.north, box.east, level)
    if filters.since is not None:
        # Counts are kept per cell, not per day: a time window is counted live,
        # from the tickets since then (found through their date index).
        rows = _live_cells(level, merge, box, filters)
    else:
        rows = _stored_cells(level, merge, (x0, y0, x1, y1), filters)
    cells: dict[tuple[int, int], dict] = {}
    for gx, gy, status, count, lat_sum, lon_sum in rows:
        cell = cells.setdefault(
            (gx, gy), {"count": 0, "lat_sum": 0.0, "lon_sum": 0.0, "statuses": {}}
        )
        cell["count"] += count
        cell["lat_sum"] += lat_sum
        cell["lon_sum"] += lon_sum
        cell["statuses"][status] = cell["statuses"].get(status, 0) + count
    size = spatial.cell_size(level) * merge
    answer = []
    for (gx, gy), cell in sorted(cells.items()):
        count = cell["count"]
        if count <= 0:
            continue
        west, south = gx * size - 180.0, gy * size - 90.0
        answer.append(
            {
                "count": count,
                "lat": cell["lat_sum"] / count,
                "lon": cell["lon_sum"] / count,
                "statuses": cell["statuses"],
                "bounds": [west, south, west + size, south + size],
            }
        )
    return answer


def _stored_cells(level: int, merge: int, span, filters: TicketFilter):
    x0, y0, x1, y1 = span
    gx = (TicketCell.cx // merge) if merge > 1 else TicketCell.cx
    gy = (TicketCell.cy // merge) if merge > 1 else TicketCell.cy
    query = select(
        gx.label("gx"),
        gy.label("gy"),
        TicketCell.status,
        func.sum(TicketCell.n),
        func.sum(TicketCell.lat_sum),
        func.sum(TicketCell.lon_sum),
    ).where(
        TicketCell.level == level,
        TicketCell.cx.between(x0, x1),
        TicketCell.cy.between(y0, y1),
        TicketCell.n > 0,
    )
    if filters.statuses is not None:
        query = query.where(TicketCell.status.in_(filters.statuses))
    if filters.service_codes is not None:
        query = query.where(TicketCell.service_code.in_(filters.service_codes))
    if filters.area_id is not None:
        query = query.where(TicketCell.area_id == filters.area_id)
    query = query.group_by(
        literal_column("gx"), literal_column("gy"), TicketCell.status
    )
    return db.session.execute(query).all()


def _live_cells(level: int, merge: int, box: BBox, filters: TicketFilter):
    factor = (1 << (level + 2)) / merge
    gx = func.floor((Ticket.lon + 180.0) * factor / 360.0)
    gy = func.floor((Ticket.lat + 90.0) * factor / 360.0)
    if db.engine.dialect.name == "sqlite":
        # SQLite's floor() needs the math extension; truncation is floor here, as
        # both sums are positive.
        gx = cast((Ticket.lon + 180.0) * factor / 360.0, Integer)
        gy = cast((Ticket.lat + 90.0) * factor / 360.0, Integer)
    query = _filtered(
        select(
            gx.label("gx"),
            gy.label("gy"),
            Ticket.status,
            func.count(),
            func.sum(Ticket.lat),
            func.sum(Ticket.lon),
        ).where(
            and_(
                Ticket.lat.between(box.south, box.north),
                Ticket.lon.between(box.west, box.east),
            )
        ),
        filters,
    ).group_by(literal_column("gx"), literal_column("gy"), Ticket.status)
    return [(int(x), int(y), *rest) for x, y, *rest in db.session.execute(query)]
