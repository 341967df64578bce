"""After a lost answer: find the ticket at the city, or prove the city does not hold it.

Some cities hide new requests from their listings until staff publish them, so "the
search did not find it" proves nothing there. A ticket is posted again only when the
listing is seen to show a request of ours that the city accepted after this ticket's
last POST: a listing that shows that newer request would show this one too.
"""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.tickets.models import SyncState, Ticket, TicketEvent
from portal.tickets.services import ref_in

SEARCH_MARGIN = timedelta(minutes=15)
# How the history says a POST was answered with the city's id or token.
ACCEPTED = "accepted"
# The sync-state row that remembers what was last seen of the city's listings.
LISTING_KEY = "listing"


@dataclass
class Search:
    """What a search for one ticket saw."""

    found: object = None  # the city's record of the ticket, if seen
    seen_ids: frozenset = frozenset()  # every id the listing showed


def find_at_city(api, ticket: Ticket, keep_claim) -> Search:
    """Look for the ticket's ref in the city's requests of its service since it was
    first sent. :raises CityUnavailable:"""
    since = (ticket.first_attempt_at or ticket.created_at) - SEARCH_MARGIN
    seen = set()
    for page in api.iter_requests(
        service_code=ticket.service_code, start_date=since, page_size=500, max_pages=50
    ):
        keep_claim()  # a long search keeps its claim alive
        for found in page:
            if ref_in(found.description) == ticket.ref:
                return Search(found=found)
            if found.service_request_id:
                seen.add(found.service_request_id)
    return Search(seen_ids=frozenset(seen))


def _newer_accepted(ticket: Ticket) -> list[str]:
    """City ids of our tickets of its service that a POST sent after this ticket's
    last one created (accepted from that POST: not found later, not a token's id seen
    later, whose request may be older)."""
    posted = ticket.last_posted_at or ticket.first_attempt_at or ticket.created_at
    query = (
        select(Ticket.city_id)
        .join(TicketEvent, TicketEvent.ticket_id == Ticket.id)
        .where(
            Ticket.id != ticket.id,
            Ticket.service_code == ticket.service_code,
            Ticket.city_id.is_not(None),
            Ticket.last_posted_at > posted,
            TicketEvent.kind.in_(("sent", "token")),
            TicketEvent.source == "sender",
            TicketEvent.at >= Ticket.last_posted_at,
            TicketEvent.notes.like(f"{ACCEPTED}:%"),
        )
        .order_by(Ticket.last_posted_at.desc())
        .limit(50)
    )
    return list(dict.fromkeys(db.session.scalars(query)))


def absence_proved(ticket: Ticket, search: Search) -> bool:
    """Whether the city certainly does not hold the ticket its search did not find.

    Proved when its last POST was answered with a server error (the city said it
    failed, and a listing that shows new requests shows nothing), when the listing
    shows a newer request of ours of the same service, or when the city is known to
    list what it has just accepted (the probe after each acceptance). Until that is
    known, a lost answer waits: exactly once comes before speed.
    """
    if current_app.config["CITY_NEW_REQUESTS_LISTED"] == "yes" or ticket.same_errors:
        return True
    if any(city_id in search.seen_ids for city_id in _newer_accepted(ticket)):
        return True
    return listing_shows_new_requests()


def _listing_state() -> SyncState:
    """The row remembering the last looks at the listing: ``last_success_at`` when it
    was seen showing what the city had just accepted, ``high_water`` when hiding it."""
    return db.session.get(SyncState, LISTING_KEY) or SyncState(key=LISTING_KEY)


def _listing_seen() -> str | None:
    """What the latest look saw: "shows", "hides", or None before any look."""
    state = _listing_state()
    shown, hidden = state.last_success_at, state.high_water
    if shown is None and hidden is None:
        return None
    return "shows" if hidden is None or (shown and shown > hidden) else "hides"


def listing_hides_new_requests() -> bool:
    """Whether the city's listing was last seen hiding what it had just accepted."""
    return _listing_seen() == "hides"


def listing_shows_new_requests() -> bool:
    """Whether the city's listing was last seen showing what it had just accepted."""
    return _listing_seen() == "shows"


def probe_due() -> bool:
    """Whether to look if the city lists what it has just accepted: until it is known,
    then again every CITY_LISTING_PROBE_INTERVAL (a city may change its setting)."""
    if current_app.config["CITY_NEW_REQUESTS_LISTED"] == "yes":
        return False
    state = _listing_state()
    last = max(filter(None, (state.high_water, state.last_success_at)), default=None)
    every = timedelta(seconds=current_app.config["CITY_LISTING_PROBE_INTERVAL"])
    return last is None or utcnow() - last >= every


def probe_listing(api, city_id: str) -> bool:
    """Ask the city's listing for a request it has just accepted, and remember whether
    it was there (committed). :raises CityUnavailable, CityRejected:"""
    shown = bool(api.get_requests(service_request_id=city_id))
    state = _listing_state()
    if shown:
        state.last_success_at = utcnow()
    else:
        state.high_water = utcnow()  # when it was last seen hiding one
    db.session.add(state)
    db.session.commit()
    return shown
