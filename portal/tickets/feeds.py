"""What tickets put in the Atom feeds (portal.notifications.feeds): new requests
inside a feed's areas and circles, and the city's changes of their status."""

import math

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from portal.extensions import db
from portal.notifications.feeds import FeedEntry, Scope, register_feed_source
from portal.notifications.kinds import status_words
from portal.notifications.watches import METRES_PER_DEGREE, metres_between
from portal.tickets.models import Ticket, TicketEvent

SUMMARY_CHARS = 300
# Circles are looked up by their boxes, then measured: fetch this many times the
# limit so the boxes' corners do not crowd out what is inside.
OVERFETCH = 4


def _where(scope: Scope):
    conditions = []
    if scope.area_ids:
        conditions.append(Ticket.area_id.in_(scope.area_ids))
    for circle in scope.circles:
        dlat = circle.radius_m / METRES_PER_DEGREE
        # Longitude degrees shrink toward the poles; never divide by (nearly) zero.
        dlon = dlat / max(math.cos(math.radians(circle.lat)), 0.01)
        conditions.append(
            and_(
                Ticket.lat.between(circle.lat - dlat, circle.lat + dlat),
                Ticket.lon.between(circle.lon - dlon, circle.lon + dlon),
            )
        )
    return or_(*conditions)


def _inside(scope: Scope, ticket: Ticket) -> bool:
    if ticket.area_id in scope.area_ids:
        return True
    if ticket.lat is None or ticket.lon is None:
        return False
    return any(
        metres_between(c.lat, c.lon, ticket.lat, ticket.lon) <= c.radius_m
        for c in scope.circles
    )


def _title(ticket: Ticket) -> str:
    return ticket.service_name or ticket.service_code


def _summary(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    if len(text) > SUMMARY_CHARS:
        text = text[: SUMMARY_CHARS - 1].rstrip() + "…"
    return text or None


def ticket_entries(scope: Scope, limit: int) -> list[FeedEntry]:
    """New requests (the city's refusals left out) and status changes, newest
    first, at most ``limit`` of each."""
    fetch = limit * OVERFETCH if scope.circles else limit
    where = _where(scope)
    new = db.session.scalars(
        select(Ticket)
        .where(where, or_(Ticket.send_state.is_(None), Ticket.send_state != "rejected"))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(fetch)
    )
    entries = []
    for ticket in new:
        if not _inside(scope, ticket):
            continue
        title = _title(ticket)
        if ticket.address:
            title = _("%(title)s, %(address)s", title=title, address=ticket.address)
        entries.append(
            FeedEntry(
                key=f"ticket-{ticket.id}",
                title=_("New request: %(title)s", title=title),
                link=url_for("tickets.show", ticket_id=ticket.id),
                updated=ticket.created_at,
                summary=_summary(ticket.description),
            )
        )
    changes = db.session.execute(
        select(TicketEvent, Ticket)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(where, TicketEvent.kind == "status")
        .order_by(TicketEvent.at.desc(), TicketEvent.id.desc())
        .limit(fetch)
    )
    for event, ticket in changes:
        if not _inside(scope, ticket) or not event.new_status:
            continue
        entries.append(
            FeedEntry(
                key=f"ticket-{ticket.id}-change-{event.id}",
                title=_(
                    "%(title)s is now %(status)s",
                    title=_title(ticket),
                    status=status_words(event.new_status),
                ),
                link=url_for("tickets.show", ticket_id=ticket.id),
                updated=event.at,
                # A status line's notes are the city's public words (PUBLIC_NOTES).
                summary=_summary(event.notes),
            )
        )
    entries.sort(key=lambda entry: entry.updated, reverse=True)
    return entries[:limit]


def register() -> None:
    register_feed_source(ticket_entries)
