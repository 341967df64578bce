"""Spatial structures follow the tickets table, and the queries answer from them."""

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select, text

from portal.extensions import db
from portal.map import spatial
from portal.map.models import TicketCell
from portal.map.services import BBox, TicketFilter, nearby, tickets_in_view
from portal.tickets.models import Ticket
from tests.map.conftest import FISHTOWN, offset

CITY = BBox(-75.30, 39.85, -74.95, 40.15)


def stored_cells() -> Counter:
    rows = db.session.execute(
        select(
            TicketCell.level,
            TicketCell.cx,
            TicketCell.cy,
            TicketCell.status,
            TicketCell.service_code,
            TicketCell.n,
        ).where(TicketCell.n != 0)
    )
    return Counter({tuple(row[:5]): row[5] for row in rows})


def expected_cells() -> Counter:
    counts = Counter()
    for ticket in db.session.scalars(select(Ticket).where(Ticket.lat.is_not(None))):
        for level in spatial.LEVELS:
            cx, cy = spatial.cell_of(ticket.lat, ticket.lon, level)
            counts[(level, cx, cy, ticket.status, ticket.service_code)] += 1
    return counts


def indexed_ids(open_only: bool) -> set[int]:
    """What the spatial index finds city-wide (the R*Tree itself on SQLite)."""
    if db.engine.dialect.name == "sqlite":
        tree = "ticket_rtree_open" if open_only else "ticket_rtree"
        return set(db.session.scalars(text(f"SELECT id FROM {tree}")))
    statuses = ("open",) if open_only else None
    found = nearby(*FISHTOWN, 20_000, TicketFilter(statuses=statuses), limit=1000)
    return {row.id for _metres, row in found}


def test_triggers_follow_inserts_moves_status_changes_and_deletes(make_ticket):
    first = make_ticket()
    second = make_ticket(*offset(*FISHTOWN, north_m=3000), service_code="SBX-GR")
    make_ticket(lat=None, lon=None, address="somewhere typed")
    assert stored_cells() == expected_cells()
    assert indexed_ids(open_only=True) == {first.id, second.id}

    first.status = "closed"
    second.lat, second.lon = offset(*FISHTOWN, east_m=-5000)
    db.session.commit()
    assert stored_cells() == expected_cells()
    assert indexed_ids(open_only=True) == {second.id}
    assert indexed_ids(open_only=False) == {first.id, second.id}

    db.session.delete(second)
    db.session.commit()
    assert stored_cells() == expected_cells()
    assert indexed_ids(open_only=False) == {first.id}


def test_rebuild_gives_what_the_triggers_kept(make_ticket):
    for step in range(30):
        make_ticket(*offset(*FISHTOWN, north_m=step * 97, east_m=step * 61))
    kept = stored_cells()
    spatial.rebuild(db.session.connection())
    db.session.commit()
    assert stored_cells() == kept == expected_cells()


def test_nearby_is_sorted_by_distance_within_the_radius(make_ticket):
    far = make_ticket(*offset(*FISHTOWN, north_m=1200))
    near = make_ticket(*offset(*FISHTOWN, east_m=100))
    nearer = make_ticket(*offset(*FISHTOWN, north_m=-40))
    make_ticket(*offset(*FISHTOWN, east_m=60), status="closed")
    found = nearby(*FISHTOWN, 1000)
    assert [row.id for _m, row in found] == [nearer.id, near.id]
    assert [round(metres) for metres, _row in found] == [40, 100]
    assert far.id in [row.id for _m, row in nearby(*FISHTOWN, 1500)]
    assert len(nearby(*FISHTOWN, 1500, limit=1)) == 1


def test_nearby_filters_by_status_service_date_and_area(make_ticket, make_area):
    area = make_area("Fishtown", bounds=(-75.14, 39.96, -75.12, 39.98))
    old = datetime(2025, 1, 1, tzinfo=UTC)
    graffiti = make_ticket(service_code="SBX-GR", area_id=area.id)
    closed = make_ticket(status="closed", requested_at=old)
    make_ticket(requested_at=old)

    def ids(**filters):
        return {row.id for _m, row in nearby(*FISHTOWN, 500, TicketFilter(**filters))}

    assert ids(service_codes=("SBX-GR",)) == {graffiti.id}
    assert ids(statuses=("closed",)) == {closed.id}
    assert ids(statuses=None, since=datetime(2026, 1, 1, tzinfo=UTC)) == {graffiti.id}
    assert ids(area_id=area.id) == {graffiti.id}


def test_street_zoom_answers_tickets_and_lower_zoom_answers_clusters(make_ticket):
    for step in range(12):
        make_ticket(*offset(*FISHTOWN, north_m=step * 20))
    for step in range(5):
        make_ticket(*offset(*FISHTOWN, north_m=-8000, east_m=step * 20))
    street = BBox.around(*FISHTOWN, 400)
    assert len(tickets_in_view(street, 17)["tickets"]) == 12

    city = tickets_in_view(CITY, 11)["clusters"]
    assert sorted(c["count"] for c in city) == [5, 12]
    biggest = max(city, key=lambda c: c["count"])
    assert biggest["statuses"] == {"open": 12}
    west, south, east, north = biggest["bounds"]
    assert south <= biggest["lat"] <= north and west <= biggest["lon"] <= east


def test_a_crowded_street_view_is_clustered_rather_than_cut(make_ticket):
    for step in range(8):
        make_ticket(*offset(*FISHTOWN, east_m=step * 10), commit=False)
    db.session.commit()
    view = tickets_in_view(BBox.around(*FISHTOWN, 300), 18, limit=5)
    assert "tickets" not in view
    assert sum(c["count"] for c in view["clusters"]) == 8


def test_a_huge_box_at_street_zoom_is_clustered_coarsely(make_ticket):
    make_ticket()
    view = tickets_in_view(BBox(-179, -80, 179, 80), 18)
    assert [c["count"] for c in view["clusters"]] == [1]


def test_clusters_for_a_time_window_are_counted_live(make_ticket):
    make_ticket(requested_at=datetime(2025, 1, 1, tzinfo=UTC))
    make_ticket(*offset(*FISHTOWN, north_m=50))
    since = TicketFilter(since=datetime(2026, 6, 1, tzinfo=UTC))
    assert [c["count"] for c in tickets_in_view(CITY, 12, since)["clusters"]] == [1]
    assert [c["count"] for c in tickets_in_view(CITY, 12)["clusters"]] == [2]
