"""Spatial ticket queries: nearest first, and what a map viewport shows (tickets or
clusters), each answered from an index so no answer grows with the city's size."""

from functools import lru_cache

from sqlalchemy import Float, bindparam, func, literal_column, select
from sqlalchemy.sql import Select

from portal.extensions import db
from portal.map import spatial
from portal.map.clusters import CELL_BUDGET, _cells_across, clusters
from portal.map.nearest import nearby
from portal.map.query import (
    EARTH_RADIUS,
    METRES_PER_DEGREE,
    OPEN_ONLY,
    OPEN_TICKETS,
    SUMMARY_COLUMNS,
    BBox,
    T,
    TicketFilter,
    distance,
    filtered,
    iso_utc,
    through_rtree,
    unindexed,
    utc_time,
)

__all__ = [
    "EARTH_RADIUS",
    "INDIVIDUAL_ZOOM",
    "METRES_PER_DEGREE",
    "OPEN_ONLY",
    "BBox",
    "TicketFilter",
    "clusters",
    "distance",
    "iso_utc",
    "nearby",
    "tickets_in_view",
    "utc_time",
]

INDIVIDUAL_ZOOM = 16  # from this zoom on, a viewport shows single tickets


@lru_cache(maxsize=256)
def _box_query(dialect: str, filters: TicketFilter) -> Select:
    """Summary rows in the box given as parameters w, s, e, n (at most ``limit``),
    through the spatial index of this database; built once per filter set."""
    west, south, east, north = (bindparam(name, type_=Float) for name in "wsen")
    query = select(*SUMMARY_COLUMNS)
    if dialect == "sqlite":
        # Overlap first, then the exact coordinates (a point's rounded bounds only
        # narrow the search), behind unary "+" with the filters so the R*Tree drives.
        query = through_rtree(query, filters, (west, south, east, north)).where(
            unindexed(T.lat).between(south, north),
            unindexed(T.lon).between(west, east),
        )
        query = filtered(query, filters, rtree=True)
    else:
        # No lat/lon ranges on PostgreSQL: "<@ box" is exact for points, and ranges
        # would tempt the planner onto the (status, lat, lon) B-tree.
        query = query.where(
            literal_column("point(tickets.lon, tickets.lat)").op("<@")(
                func.box(func.point(west, south), func.point(east, north))
            )
        )
        query = filtered(query, filters)
    return query.limit(bindparam("limit"))


def _in_box(box: BBox, filters: TicketFilter, limit: int):
    query = _box_query(db.engine.dialect.name, filters)
    params = {"w": box.west, "s": box.south, "e": box.east, "n": box.north}
    return db.session.execute(query, {**params, "limit": limit})


def tickets_in_view(
    box: BBox, zoom: int, filters: TicketFilter = OPEN_TICKETS, limit: int = 500
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
