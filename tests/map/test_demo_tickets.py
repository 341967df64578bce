"""`portal demo load --tickets N`: N plausible tickets inside the areas, indexed."""

from sqlalchemy import func, select

from portal.areas.services import Locator
from portal.extensions import db
from portal.map import spatial
from portal.map.models import TicketCell
from portal.map.services import BBox, TicketFilter, tickets_in_view
from portal.tickets.models import Ticket


def test_bulk_tickets_land_in_areas_and_in_every_index(runner, make_ticket):
    before = make_ticket()  # the load goes on after existing tickets
    result = runner.invoke(args=["demo", "load", "--tickets", "500"])
    assert result.exit_code == 0, result.output
    assert "500 tickets added" in result.output
    tickets = list(db.session.scalars(select(Ticket).where(Ticket.id != before.id)))
    assert len(tickets) == 500
    locate = Locator()
    assert all(locate(t.lat, t.lon).id == t.area_id for t in tickets[:100])
    assert 50 < sum(t.status == "open" for t in tickets) < 150
    for level in spatial.LEVELS:
        total = db.session.scalar(
            select(func.sum(TicketCell.n)).where(TicketCell.level == level)
        )
        assert total == 501
    city = tickets_in_view(BBox(-75.4, 39.8, -74.9, 40.2), 11, TicketFilter(None))
    assert sum(c["count"] for c in city["clusters"]) == 501
    # New tickets after the load are indexed by the triggers again.
    make_ticket(status="closed")
    city = tickets_in_view(BBox(-75.4, 39.8, -74.9, 40.2), 11, TicketFilter(None))
    assert sum(c["count"] for c in city["clusters"]) == 502
