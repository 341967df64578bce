"""Status sync: pull what changed at the city, and apply any update (pulled or pushed).

Idempotent by construction: an update is applied only when it is newer than what the
ticket holds, so repeating a sync, or receiving the same change by push and by pull,
writes nothing the second time. The high-water mark moves only after a complete pass,
and each pass re-reads an overlap window, so an interrupted sync converges next time.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal.areas.services import Locator
from portal.cityapi.types import ServiceRequest
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.tickets import hearing, notify
from portal.tickets.models import SyncState, Ticket
from portal.tickets.services import record, ref_in

SYNC_KEY = "requests"


@dataclass
class SyncReport:
    pages: int = 0
    seen: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changed: list[int] = field(default_factory=list)


def _own_ticket_awaiting_id(request: ServiceRequest) -> Ticket | None:
    """A ticket filed here whose id the city has not told us yet (a pending token)."""
    ref = ref_in(request.description)
    if ref is None:
        return None
    ticket = db.session.scalar(select(Ticket).where(Ticket.ref == ref))
    if ticket is None or ticket.city_id is not None:
        return None
    ticket.city_id = request.service_request_id
    if ticket.send_state != "sent":
        # Its answer was lost (it may be confirming, or queued to be looked for, or
        # with a sender right now): the city holds it, so it is sent, and a sender
        # still holding a claim on it loses that claim and posts nothing.
        ticket.send_state = "sent"
        ticket.maybe_stored = False
        ticket.last_error = None
        ticket.next_attempt_at = None
        ticket.claimed_by = ticket.lease_until = None
        record(ticket, "sent", "sync", notes=f"found at the city: {ticket.city_id}",
               new="sent")  # fmt: skip
    else:
        record(ticket, "sent", "sync", notes=f"the city's id is {ticket.city_id}")
    return ticket


def apply_update(
    request: ServiceRequest,
    source: str,
    create: bool = True,
    known=None,
    find_area=None,
    announce: bool = True,
):
    """Apply a city record to its ticket; answer (ticket, "created"|"updated") or None.

    An update older than (or as old as) what the ticket holds changes nothing.
    :param known: the tickets already loaded for this page, by city id.
    :param find_area: an areas.services.Locator (one is made when not given). A new
        ticket is made only for a record inside an area (or anywhere, with no areas).
    :param announce: a new open ticket is news to whoever watches its place (not
        on the first import of the city's open requests).
    """
    if known is not None:
        ticket = known.get(request.service_request_id)
    else:
        ticket = db.session.scalar(
            select(Ticket).where(Ticket.city_id == request.service_request_id)
        )
    ticket = ticket or _own_ticket_awaiting_id(request)
    if ticket is None:
        if not create:
            return None
        find_area = find_area or Locator()
        area = find_area(request.lat, request.long)
        if area is None and find_area.areas:
            return None  # outside every area: not this portal's
        ticket = Ticket(
            city_id=request.service_request_id,
            service_code=request.service_code or "",
            service_name=request.service_name,
            status=request.status,
            status_notes=request.status_notes,
            agency=request.agency_responsible,
            description=request.description,
            lat=request.lat,
            lon=request.long,
            address=request.address,
            area=area,
            media_url=request.media_url,
            requested_at=request.requested_datetime,
            city_updated_at=request.updated_datetime,
            expected_at=request.expected_datetime,
            channel="city",
            send_state="sent",
        )
        db.session.add(ticket)
        record(ticket, "status", source, notes=request.status_notes, new=request.status)
        if announce and ticket.status == "open":
            hearing.announce_new(ticket)
        return ticket, "created"
    incoming = request.updated_datetime
    if incoming is None or (
        ticket.city_updated_at and incoming <= ticket.city_updated_at
    ):
        return None
    old_status, old_notes = ticket.status, ticket.status_notes
    ticket.status = request.status or ticket.status
    ticket.status_notes = request.status_notes
    ticket.agency = request.agency_responsible or ticket.agency
    ticket.expected_at = request.expected_datetime or ticket.expected_at
    ticket.city_updated_at = incoming
    if request.service_name:
        ticket.service_name = ticket.service_name or request.service_name
    if (old_status, old_notes) != (ticket.status, ticket.status_notes):
        record(ticket, "status", source, notes=ticket.status_notes, old=old_status,
               new=ticket.status)  # fmt: skip
    return ticket, "updated"


def pull_updates(api, budget=None) -> SyncReport:
    """Apply the city's changes since the high-water mark (less the overlap window).

    The first run imports the city's open requests that lie inside the areas.
    :param budget: a portal.duties.Budget; once spent, the pass stops after a page
        (what it read is kept; the mark does not move, so the next pass reads on).
    :raises CityUnavailable, CityRejected: the pass stops; the mark does not move.
    """
    config = current_app.config
    state = db.session.get(SyncState, SYNC_KEY) or SyncState(key=SYNC_KEY)
    filters = {"extensions": False}
    if state.high_water is None:
        filters["status"] = "open"
    else:
        overlap = timedelta(seconds=config["CITY_SYNC_OVERLAP"])
        filters["updated_after"] = state.high_water - overlap
    find_area = Locator()
    # The first pass imports what is open at the city: old news to everyone.
    announce = state.high_water is not None
    report = SyncReport()
    high_water = state.high_water
    touched: list[Ticket] = []
    for page in api.iter_requests(page_size=config["CITY_SYNC_PAGE_SIZE"], **filters):
        report.pages += 1
        ids = [r.service_request_id for r in page if r.service_request_id]
        loaded = db.session.scalars(select(Ticket).where(Ticket.city_id.in_(ids)))
        known = {ticket.city_id: ticket for ticket in loaded}
        for request in page:
            if not request.service_request_id:
                continue  # a batch request still known only by its token
            report.seen += 1
            if request.updated_datetime and (
                high_water is None or request.updated_datetime > high_water
            ):
                high_water = request.updated_datetime
            result = apply_update(
                request, "sync", known=known, find_area=find_area, announce=announce
            )
            if result is None:
                report.unchanged += 1
                continue
            ticket, what = result
            setattr(report, what, getattr(report, what) + 1)
            known[ticket.city_id] = ticket
            touched.append(ticket)
        db.session.flush()  # ids now, before the commit expires every object
        report.changed.extend(ticket.id for ticket in touched)
        events = [notify.prepare(ticket) for ticket in touched]
        touched.clear()
        db.session.commit()  # page by page: a long first import keeps what it has read
        notify.send(events)  # and never holds every changed ticket at once
        if budget is not None and budget.spent():
            return report
    state.high_water = high_water
    state.last_success_at = utcnow()
    state.last_error = None
    db.session.add(state)
    db.session.commit()
    return report
