"""Cleanups born from tickets: open tickets of dumping, vacant-lot and litter
services become a cleanup's to-do list; after it, the organizer reports on each,
with before and after photos, and each ticket's thread gets a note."""

from flask import current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import select

from portal.bounds import whole
from portal.dbtypes import utcnow
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.events.models import CleanupTicket, Event
from portal.events.services import get_event, may_manage
from portal.extensions import db
from portal.forums.services import add_note, signed_in, ticket_thread
from portal.tickets import photos as photo_store
from portal.tickets.models import Ticket

MAX_TICKETS = 50
OUTCOMES = ("cleaned", "not_cleaned")


def cleanup_services() -> set[str]:
    return set(current_app.config["CLEANUP_SERVICE_CODES"])


def parse_ids(text: str) -> list[int]:
    """ "3,5,8" from a link or form; anything else is dropped, at most 50."""
    found = []
    for part in (text or "").split(","):
        try:
            number = whole(part)
        except ValueError:
            continue
        if number > 0 and number not in found:
            found.append(number)
    return found[:MAX_TICKETS]


def tickets_for(ids: list[int]) -> list[Ticket]:
    if not ids:
        return []
    return list(db.session.scalars(select(Ticket).where(Ticket.id.in_(ids))))


def links_for(ids: list[int]) -> list[CleanupTicket]:
    """Links for a new cleanup. :raises ValidationFailed: a ticket that is not an
    open dumping, vacant-lot or litter request."""
    tickets = {ticket.id: ticket for ticket in tickets_for(ids)}
    links = []
    for ticket_id in ids:
        ticket = tickets.get(ticket_id)
        if ticket is None or ticket.status != "open":
            raise ValidationFailed(
                _("Request %(id)s is not an open request.", id=ticket_id), "tickets"
            )
        if ticket.service_code not in cleanup_services():
            raise ValidationFailed(
                _("Request %(id)s is not something a cleanup fixes.", id=ticket_id),
                "tickets",
            )
        links.append(CleanupTicket(ticket=ticket))
    return links


def links_of(event: Event) -> list[CleanupTicket]:
    return list(
        db.session.scalars(
            select(CleanupTicket)
            .where(CleanupTicket.event_id == event.id)
            .order_by(CleanupTicket.ticket_id)
        )
    )


def report(
    user,
    event_id: int,
    ticket_id: int,
    outcome: str,
    note: str = "",
    before: bytes | None = None,
    after: bytes | None = None,
) -> CleanupTicket:
    """The organizer says what became of one linked ticket, after the event.

    :raises PermissionDenied: not the organizer. :raises Conflict: not over yet.
    :raises ValidationFailed: naming outcome, note, before or after (photos).
    """
    user = signed_in(user)
    event = get_event(event_id)
    if not may_manage(user, event):
        raise PermissionDenied(_("Only the organizer can report on the cleanup."))
    if event.ends_at > utcnow() or event.status == "cancelled":
        raise Conflict(_("Report once the cleanup has happened."), "event")
    link = db.session.get(CleanupTicket, (event.id, ticket_id))
    if link is None:
        raise NotFound(_("This request is not part of the cleanup."), "ticket")
    if outcome not in OUTCOMES:
        raise ValidationFailed(_("Say whether it was cleaned."), "outcome")
    note = " ".join((note or "").split())
    if len(note) > 1000:
        raise ValidationFailed(_("Use at most 1,000 characters."), "note")
    processed = []
    for field, data in (("before", before), ("after", after)):
        processed.append(photo_store.process(data, field) if data else None)
    for photo in processed:
        if photo:
            photo_store.save(photo)
    link.outcome, link.note, link.reported_at = outcome, note or None, utcnow()
    link.before_photo = processed[0].key if processed[0] else link.before_photo
    link.after_photo = processed[1].key if processed[1] else link.after_photo
    when = format_date(event.starts_at, "medium")
    words = (
        _(
            "Neighbors cleaned this up at “%(title)s” on %(when)s.",
            title=event.title,
            when=when,
        )
        if outcome == "cleaned"
        else _(
            "The cleanup “%(title)s” on %(when)s could not fix this.",
            title=event.title,
            when=when,
        )
    )
    add_note(ticket_thread(link.ticket), user, f"{words} {note}".strip())
    db.session.commit()
    return link


def cleanable_tickets(area, limit: int = 30) -> list[Ticket]:
    """The area's open requests a cleanup could fix, latest first."""
    return list(
        db.session.scalars(
            select(Ticket)
            .where(
                Ticket.area_id == area.id,
                Ticket.status == "open",
                Ticket.service_code.in_(cleanup_services()),
            )
            .order_by(Ticket.id.desc())
            .limit(limit)
        )
    )


def past_cleanups(area, limit: int = 10) -> list[tuple[Event, list[CleanupTicket]]]:
    """The area's finished cleanups with what they reported, latest first."""
    events = db.session.scalars(
        select(Event)
        .where(
            Event.area_id == area.id,
            Event.kind == "cleanup",
            Event.ends_at < utcnow(),
            Event.status != "cancelled",
        )
        .order_by(Event.starts_at.desc())
        .limit(limit)
    )
    return [(event, links_of(event)) for event in events]
