"""Grid clusters for zoomed-out maps: stored per-cell counts (kept by triggers), or
counted live for a time window."""

from sqlalchemy import Integer, and_, cast, func, literal_column, select

from portal.extensions import db
from portal.map import spatial
from portal.map.models import TicketCell
from portal.map.query import BBox, TicketFilter, filtered
from portal.tickets.models import Ticket

CELL_BUDGET = 2500  # at most this many grid cells in one viewport answer
SEEK_COLUMNS = 64  # a view this many cell columns wide or less is read column by column


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
        # Columns one by one: each is then a seek to its (cx, cy) range in the
        # view index, where one cx range would read every cy of those columns
        # city-wide (measured at a million tickets, zoom 15: 10.5 to 1.9 ms).
        TicketCell.cx.in_(range(x0, x1 + 1))
        if x1 - x0 < SEEK_COLUMNS
        else TicketCell.cx.between(x0, x1),
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
    query = filtered(
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
