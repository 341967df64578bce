"""What admins see of the city link: its health, services without their questions, and
tickets that did not reach the city."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from portal.auth.services import has_role
from portal.errors import PermissionDenied
from portal.extensions import db
from portal.tickets.models import CityService, SyncState, Ticket
from portal.tickets.recovery import listing_hides_new_requests
from portal.tickets.sync import SYNC_KEY

# Tickets an admin can act on, and those only to read (the city refused them).
NEEDING_ADMIN = ("held", "confirming", "failed")
LIMIT = 200


@dataclass
class LinkStatus:
    sync: SyncState | None
    hides_new_requests: bool
    services_without_questions: list[CityService]
    waiting: list[Ticket]  # held, confirming or failed: an admin can act
    rejected: list[Ticket]  # the city refused them; the filer has been told


def may_manage_city_link(user) -> bool:
    """The one rule for the city link's admin page and its actions."""
    return has_role(user, "admin")


def city_link_status(user) -> LinkStatus:
    """:raises PermissionDenied: not an admin."""
    if not may_manage_city_link(user):
        raise PermissionDenied(_("Only an admin can see the city link."))
    unreadable = db.session.scalars(
        select(CityService)
        .where(CityService.active, CityService.definition_error.is_not(None))
        .order_by(CityService.name)
    ).all()
    waiting = db.session.scalars(
        select(Ticket)
        .where(Ticket.send_state.in_(NEEDING_ADMIN))
        .order_by(Ticket.created_at)
        .limit(LIMIT)
    ).all()
    rejected = db.session.scalars(
        select(Ticket)
        .where(Ticket.send_state == "rejected")
        .order_by(Ticket.created_at.desc())
        .limit(50)
    ).all()
    return LinkStatus(
        sync=db.session.get(SyncState, SYNC_KEY),
        hides_new_requests=listing_hides_new_requests(),
        services_without_questions=list(unreadable),
        waiting=list(waiting),
        rejected=list(rejected),
    )
