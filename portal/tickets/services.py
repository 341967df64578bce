"""Ticket rules off the network: queue, record events, admin retry, city services."""

import logging
import re
import secrets

from blinker import Namespace
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.auth.services import has_role
from portal.dbtypes import utcnow
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.tickets import hearing
from portal.tickets.models import (
    CityService,
    Ticket,
    TicketEvent,
    TicketFollow,
    TicketSupport,
)

log = logging.getLogger(__name__)

REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I to misread


REF_IN_TEXT = re.compile(r"\[ref (NP-[A-Z0-9]{10})\]")


def new_ref() -> str:
    return "NP-" + "".join(secrets.choice(REF_ALPHABET) for _ in range(10))


def ref_marker(ref: str) -> str:
    """What each submission's description ends with, so the city's copy can be found."""
    return f"[ref {ref}]"


def ref_in(text: str | None) -> str | None:
    """The portal ref a city record's description carries, if any."""
    match = REF_IN_TEXT.search(text or "")
    return match.group(1) if match else None


# The city's public words on a ticket. Every other history line's notes come from
# sending it (the city's reason for refusing, an error) and can quote what the filer
# wrote: those are for the filer and admins only.
PUBLIC_NOTES = frozenset({"status"})


def may_see_sending(user, ticket: Ticket) -> bool:
    """The one rule for a ticket's send errors and the notes of its sending history,
    used by the page and the API alike: its filer and admins."""
    if user is None or not user.is_authenticated:
        return False
    return ticket.filed_by_id == user.id or has_role(user, "admin")


def visible_history(user, ticket: Ticket) -> list[dict]:
    """The ticket's history as ``user`` may read it: private notes blanked."""
    private_too = may_see_sending(user, ticket)
    return [
        {
            "at": event.at,
            "kind": event.kind,
            "source": event.source,
            "old_status": event.old_status,
            "new_status": event.new_status,
            "notes": event.notes if private_too or event.kind in PUBLIC_NOTES else None,
        }
        for event in ticket.events
    ]


# Other domains (the forums) hear of every history line, inside the same transaction.
event_recorded = Namespace().signal("ticket-event-recorded")


def record(ticket: Ticket, kind: str, source: str, notes=None, old=None, new=None):
    """Add a line to the ticket's history (committed with the caller's work)."""
    event = TicketEvent(
        kind=kind,
        source=source,
        notes=notes,
        old_status=old,
        new_status=new,
        at=utcnow(),
    )
    ticket.events.append(event)
    event_recorded.send(ticket, event=event)
    hearing.recorded(ticket, event)
    return event


def queue_ticket(
    service_code: str,
    *,
    lat: float | None = None,
    lon: float | None = None,
    address: str | None = None,
    description: str | None = None,
    attributes: dict | None = None,
    media_url: str | None = None,
    filed_by=None,
    on_behalf_of: str | None = None,
    channel: str = "web",
    area=None,
    photos=(),
    commit: bool = True,
) -> Ticket:
    """Store a ticket as ``queued`` for the sender; the city is never called here.
    (``commit=False``: a batch adds it to its own transaction.)

    :raises ValidationFailed: no location, or a description over 4,000 characters.
    """
    if lat is None and not address:
        raise ValidationFailed(
            _("Say where: a point on the map or an address."), "location"
        )
    if description and len(description) > 4000:
        raise ValidationFailed(_("Use at most 4,000 characters."), "description")
    service = db.session.get(CityService, service_code)
    ticket = Ticket(
        ref=new_ref(),
        service_code=service_code,
        service_name=service.name if service else None,
        status="open",
        lat=lat,
        lon=lon,
        address=address,
        description=description,
        attributes=attributes or {},
        media_url=media_url,
        filed_by=filed_by,
        on_behalf_of=on_behalf_of,
        channel=channel,
        area=area,
        photos=list(photos),
        send_state="queued",
        next_attempt_at=utcnow(),
        requested_at=utcnow(),
    )
    db.session.add(ticket)
    record(ticket, "filed", "sender", new="queued")
    hearing.announce_new(ticket)
    if commit:
        db.session.commit()
    return ticket


def get_ticket(ticket_id: int) -> Ticket:
    """:raises NotFound: no such ticket."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(_("There is no ticket %(id)s.", id=ticket_id), "ticket")
    return ticket


def _signed_in(user):
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in first."))
    return user


def is_following(user, ticket: Ticket) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.get(TicketFollow, (ticket.id, user.id)) is not None


def has_supported(user, ticket: Ticket) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.get(TicketSupport, (ticket.id, user.id)) is not None


def set_following(user, ticket_id: int, follow: bool) -> Ticket:
    """Follow or stop following a ticket; doing it twice changes nothing."""
    user, ticket = _signed_in(user), get_ticket(ticket_id)
    row = db.session.get(TicketFollow, (ticket.id, user.id))
    if follow and row is None:
        db.session.add(TicketFollow(ticket_id=ticket.id, user_id=user.id))
    elif not follow and row is not None:
        db.session.delete(row)
    db.session.commit()
    return ticket


def me_too(user, ticket_id: int) -> Ticket:
    """Count one more resident with this problem (once each) and follow the ticket.

    :raises Conflict: already counted, or it is the resident's own ticket.
    :raises ValidationFailed: the ticket is closed.
    """
    user, ticket = _signed_in(user), get_ticket(ticket_id)
    if ticket.filed_by_id == user.id:
        raise Conflict(_("This is your own report."), "ticket")
    if ticket.status != "open":
        raise ValidationFailed(_("This request is closed."), "ticket")
    if not add_support(user, ticket):
        raise Conflict(_("You have already said you have this problem too."), "ticket")
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            _("You have already said you have this problem too."), "ticket"
        ) from None
    db.session.refresh(ticket)
    return ticket


def add_support(user, ticket: Ticket) -> bool:
    """Count the user on an open ticket and make them follow it, within the caller's
    transaction; False when already counted or it is their own ticket."""
    if ticket.filed_by_id == user.id or has_supported(user, ticket):
        return False
    db.session.add(TicketSupport(ticket_id=ticket.id, user_id=user.id))
    if db.session.get(TicketFollow, (ticket.id, user.id)) is None:
        db.session.add(TicketFollow(ticket_id=ticket.id, user_id=user.id))
    # In SQL, so two residents at once both count.
    ticket.supporters = Ticket.supporters + 1
    return True


# What an admin may do about a ticket that did not reach the city, by its send state.
SEND_AGAIN_FROM = ("failed", "held", "confirming")


def _admin_ticket(user, ticket_id: int) -> Ticket:
    if not has_role(user, "admin"):
        raise PermissionDenied(_("Only an admin can do this to a ticket."))
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(_("There is no ticket %(id)s.", id=ticket_id), "ticket")
    return ticket


def retry_ticket(user, ticket_id: int) -> Ticket:
    """An admin sends a failed or held ticket again (looked for at the city first when
    it may be there), or decides that one waiting for the city to confirm is not there
    after all, so it is posted again.

    :raises PermissionDenied: not an admin. :raises NotFound: no such ticket.
    :raises ValidationFailed: the ticket is not failed, held or confirming.
    """
    ticket = _admin_ticket(user, ticket_id)
    if ticket.send_state not in SEND_AGAIN_FROM:
        raise ValidationFailed(
            _("Only a ticket that did not reach the city can be sent again."), "ticket"
        )
    if ticket.send_state == "confirming":
        ticket.maybe_stored = False  # the admin's word: the city does not hold it
        notes = f"{user.display_name} decided the city does not have it"
    else:
        notes = f"retried by {user.display_name}"
    # same_errors stays: it says the last POST was answered with a server error (so
    # not finding it proves it is not there), and a city still giving the same error
    # holds the ticket again at once.
    ticket.send_state = "queued"
    ticket.attempts = 0
    ticket.next_attempt_at = utcnow()
    record(ticket, "requeued", "admin", notes=notes)
    db.session.commit()
    return ticket


def found_at_city(user, ticket_id: int, city_id: str) -> Ticket:
    """An admin says the city holds this ticket as ``city_id`` (found in the city's own
    system): it is sent, and never posted again.

    :raises PermissionDenied, NotFound:
    :raises ValidationFailed: no number given, or the ticket is already at the city.
    :raises Conflict: another ticket has that number.
    """
    ticket = _admin_ticket(user, ticket_id)
    city_id = (city_id or "").strip()
    if not city_id or len(city_id) > 64:
        raise ValidationFailed(_("Give the city's number (up to 64 characters)."),
                               "city_id")  # fmt: skip
    if ticket.send_state not in SEND_AGAIN_FROM:
        raise ValidationFailed(_("This ticket is not waiting for the city."), "ticket")
    taken = db.session.scalar(select(Ticket.id).where(Ticket.city_id == city_id))
    if taken is not None:
        raise Conflict(
            _("Ticket %(id)s already has the city's number %(number)s.", id=taken,
              number=city_id), "city_id")  # fmt: skip
    ticket.city_id = city_id
    ticket.send_state = "sent"
    ticket.maybe_stored = False
    ticket.last_error = None
    ticket.next_attempt_at = None
    ticket.claimed_by = ticket.lease_until = None
    record(ticket, "sent", "admin", new="sent",
           notes=f"{user.display_name}: the city has it as {city_id}")  # fmt: skip
    db.session.commit()
    return ticket


def service_groups() -> list[tuple[str, list[CityService]]]:
    """The city's active services by department, both in name order."""
    groups: dict[str, list[CityService]] = {}
    rows = db.session.scalars(
        select(CityService).where(CityService.active).order_by(CityService.name)
    )
    for service in rows:
        groups.setdefault(service.group or _("Other"), []).append(service)
    return sorted(groups.items())
