"""nearby() and viewports answer exactly what a scan of every ticket would, in the same
order, whatever the density, the filters or the limit."""

import math
import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.map import spatial
from portal.map.clusters import _grid_for
from portal.map.query import METRES_PER_DEGREE
from portal.map.services import BBox, TicketFilter, nearby, tickets_in_view
from portal.tickets.models import Ticket
from tests.map.conftest import FISHTOWN, offset

CODES = ("SBX-SD", "SBX-GR", "SBX-RARE")


@pytest.fixture
def crowd(make_ticket, make_area):
    """400 tickets: a dense core, a sparse ring, a few on the very same spot, mixed
    statuses, services, dates and areas."""
    area = make_area("Fishtown", bounds=(-75.14, 39.96, -75.12, 39.98))
    rng = random.Random(5)
    for index in range(400):
        spread = 150 if index < 250 else 2500
        north, east = rng.uniform(-spread, spread), rng.uniform(-spread, spread)
        if index % 50 == 0:
            north, east = 30.0, -20.0  # ties: only the id orders them
        make_ticket(
            *offset(*FISHTOWN, north_m=north, east_m=east),
            commit=False,
            status="open" if rng.random() < 0.7 else "closed",
            service_code="SBX-RARE" if index % 37 == 0 else rng.choice(CODES[:2]),
            area_id=area.id if rng.random() < 0.5 else None,
            requested_at=datetime(2026, rng.randint(1, 11), 1, tzinfo=UTC),
        )
    db.session.commit()
    return area


def scanned(lat, lon, radius, filters: TicketFilter, limit):
    """The answer by brute force over every row, the way the service defines it."""
    ky = METRES_PER_DEGREE
    kx = ky * math.cos(math.radians(lat))
    found = []
    for ticket in db.session.scalars(select(Ticket)):
        if filters.statuses is not None and ticket.status not in filters.statuses:
            continue
        if filters.service_codes and ticket.service_code not in filters.service_codes:
            continue
        if filters.since is not None and ticket.requested_at < filters.since:
            continue
        if filters.area_id is not None and ticket.area_id != filters.area_id:
            continue
        dy, dx = (ticket.lat - lat) * ky, (ticket.lon - lon) * kx
        squared = dy * dy + dx * dx
        if squared <= radius * radius:
            found.append((squared, ticket.id))
    return [ticket_id for _squared, ticket_id in sorted(found)[:limit]]


FILTERS = [
    TicketFilter(),
    TicketFilter(statuses=None),
    TicketFilter(statuses=("closed",)),
    TicketFilter(service_codes=("SBX-RARE",)),
    TicketFilter(statuses=None, since=datetime(2026, 9, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize("limit", [1, 7, 40, 120, 500])
@pytest.mark.parametrize("radius", [80, 600, 4000])
def test_nearby_is_the_scan_in_the_same_order(crowd, radius, limit):
    for filters in [*FILTERS, TicketFilter(statuses=None, area_id=crowd.id)]:
        found = nearby(*FISHTOWN, radius, filters, limit)
        assert [row.id for _m, row in found] == scanned(
            *FISHTOWN, radius, filters, limit
        ), filters
        metres = [m for m, _row in found]
        assert metres == sorted(metres) and all(m <= radius for m in metres)


def test_a_point_off_centre_and_an_empty_place(crowd):
    elsewhere = offset(*FISHTOWN, north_m=900, east_m=-700)
    for limit in (3, 60):
        found = nearby(*elsewhere, 1500, TicketFilter(), limit)
        assert [row.id for _m, row in found] == scanned(
            *elsewhere, 1500, TicketFilter(), limit
        )
    assert nearby(-33.9, 151.2, 5000) == []


def test_distances_are_metres_from_the_point(make_ticket):
    ticket = make_ticket(*offset(*FISHTOWN, north_m=300, east_m=400))
    [(metres, row)] = nearby(*FISHTOWN, 1000)
    assert row.id == ticket.id and metres == pytest.approx(500, abs=0.5)
    assert nearby(*FISHTOWN, 499) == []


def test_a_street_view_holds_exactly_the_tickets_inside_it(crowd):
    box = BBox.around(*offset(*FISHTOWN, north_m=60), 120)
    for filters in FILTERS:
        view = tickets_in_view(box, 18, filters, limit=500)
        expected = {
            ticket.id
            for ticket in db.session.scalars(select(Ticket))
            if box.south <= ticket.lat <= box.north
            and box.west <= ticket.lon <= box.east
            and (filters.statuses is None or ticket.status in filters.statuses)
            and (
                not filters.service_codes
                or ticket.service_code in filters.service_codes
            )
            and (filters.since is None or ticket.requested_at >= filters.since)
        }
        assert {row.id for row in view["tickets"]} == expected, filters


@pytest.mark.parametrize("zoom", [11, 13, 15])
def test_clusters_count_the_tickets_of_each_cell_in_view(crowd, zoom):
    box = BBox.around(*FISHTOWN, 1200)
    grid = _grid_for(box, zoom)
    level = max(grid, spatial.MIN_LEVEL)
    merge = 1 << (level - grid)
    x0, y0 = spatial.cell_of(box.south, box.west, level)
    x1, y1 = spatial.cell_of(box.north, box.east, level)
    size = spatial.cell_size(level) * merge
    for filters in (TicketFilter(), TicketFilter(statuses=None)):
        expected = Counter()
        for ticket in db.session.scalars(select(Ticket)):
            cx, cy = spatial.cell_of(ticket.lat, ticket.lon, level)
            wanted = filters.statuses is None or ticket.status in filters.statuses
            if wanted and x0 <= cx <= x1 and y0 <= cy <= y1:
                expected[(cx // merge, cy // merge)] += 1
        answer = Counter()
        for cluster in tickets_in_view(box, zoom, filters)["clusters"]:
            west, south = cluster["bounds"][:2]
            cell = (round((west + 180) / size), round((south + 90) / size))
            answer[cell] += cluster["count"]
        assert answer == expected and expected
