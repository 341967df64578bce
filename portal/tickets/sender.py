"""The outbox sender: claim due tickets, post each to the city once, resolve tokens.

Exactly once: before every POST the ticket is marked ``maybe_stored`` and committed. If
the answer never arrives (timeout, dropped connection, unreadable body, or this process
dies), the next attempt first searches the city's requests for the ticket's ``ref``,
which every submission carries in its description, and adopts what it finds. Only a
ticket the city certainly does not hold is posted again (tickets/recovery.py: at a city
that hides new requests, one whose answer was lost waits, ``confirming``, until the city
shows it or shows a newer one). A submission the city answers with the same server error
again and again is ``held`` for an admin, with the city's words.
"""

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select, update

from portal.cityapi.errors import CityAPIError, CityRejected, CityUnavailable
from portal.cityapi.types import NewServiceRequest
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.tickets import notify
from portal.tickets.models import Ticket
from portal.tickets.recovery import (
    ACCEPTED,
    absence_proved,
    find_at_city,
    listing_hides_new_requests,
    probe_due,
    probe_listing,
)
from portal.tickets.services import record, ref_marker

# Attempts are counted, and backoff grows, for sending; a confirming ticket's looks at
# the city are spaced by this many attempts' backoff at most.
CONFIRM_BACKOFF_STEPS = 6


class ClaimLost(Exception):
    """Another worker took the ticket over (this one was too slow); leave it alone."""


def lease_seconds() -> float:
    """How long a claim lasts: always longer than two requests to the city can take,
    so no claim runs out while its POST is still on the wire."""
    config = current_app.config
    return max(config["CITY_LEASE_SECONDS"], 2 * config["CITY_TIMEOUT"] + 1)


def _hold(ticket: Ticket, claim: str) -> None:
    """Renew this worker's claim and commit what the ticket holds, atomically.

    :raises ClaimLost: the claim is no longer this worker's, or the sync has meanwhile
        found the ticket at the city (nothing is written).
    """
    mine = update(Ticket).where(Ticket.id == ticket.id, Ticket.claimed_by == claim)
    if ticket.city_id is None:
        mine = mine.where(Ticket.city_id.is_(None))
    renewed = db.session.execute(
        mine.values(
            lease_until=utcnow() + timedelta(seconds=lease_seconds())
        ).execution_options(synchronize_session=False)
    ).rowcount
    if renewed != 1:
        db.session.rollback()
        raise ClaimLost(ticket.id)
    db.session.commit()


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    pending_token: int = 0
    adopted: int = 0
    rejected: int = 0
    retrying: int = 0
    failed: int = 0
    tokens_resolved: int = 0
    held: int = 0
    confirming: int = 0
    lost_claims: int = 0
    paused_for: float | None = None
    changed: list[int] = field(default_factory=list)


def backoff(
    attempts: int, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds to wait before attempt ``attempts + 1``: exponential with equal jitter,
    never sooner than the city's Retry-After (spread, so a queue drains smoothly)."""
    config = current_app.config
    delay = min(
        config["CITY_RETRY_MAX"], config["CITY_RETRY_BASE"] * 2 ** (attempts - 1)
    )
    delay = delay / 2 + rng.uniform(0, delay / 2)
    if retry_after is not None:
        delay = max(delay, retry_after + rng.uniform(0, retry_after))
    return delay


def claim(
    worker: str, limit: int, now: datetime, confirming: bool = False
) -> list[Ticket]:
    """Mark up to ``limit`` due tickets as ``sending`` for this worker and return them
    (``confirming``: those waiting for the city to show them, instead of the queue).

    PostgreSQL: the rows are locked with SKIP LOCKED, so concurrent workers claim
    disjoint sets. SQLite runs the single UPDATE under its one writer lock.
    """
    lease = now + timedelta(seconds=lease_seconds())
    claim_id = f"{worker}:{uuid.uuid4().hex[:8]}"
    if confirming:
        due = and_(Ticket.send_state == "confirming", Ticket.next_attempt_at <= now)
    else:
        due = or_(
            and_(Ticket.send_state == "queued", Ticket.next_attempt_at <= now),
            # its worker died, or stopped answering past its lease
            and_(Ticket.send_state == "sending", Ticket.lease_until < now),
        )
    candidates = (
        select(Ticket.id).where(due).order_by(Ticket.next_attempt_at).limit(limit)
    )
    if db.engine.dialect.name == "postgresql":
        # A locking CTE runs once; "id IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)"
        # may be re-executed by the planner and hand one row to two workers.
        candidates = candidates.with_for_update(skip_locked=True)
    chosen = candidates.cte("chosen")
    claimed = db.session.scalars(
        update(Ticket)
        .where(Ticket.id == chosen.c.id, due)
        .values(send_state="sending", claimed_by=claim_id, lease_until=lease)
        .returning(Ticket.id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    if not claimed:
        return []
    query = select(Ticket).where(Ticket.id.in_(claimed)).order_by(Ticket.id)
    return list(db.session.scalars(query))


def _outgoing(ticket: Ticket) -> NewServiceRequest:
    suffix = "\n\n" + ref_marker(ticket.ref)
    text = (ticket.description or "")[: 4000 - len(suffix)]
    return NewServiceRequest(
        service_code=ticket.service_code,
        lat=ticket.lat,
        long=ticket.lon,
        address_string=ticket.address,
        description=text + suffix,
        media_url=ticket.media_url,
        attributes=ticket.attributes or {},
    )


def _unclaim(ticket: Ticket) -> None:
    ticket.claimed_by = ticket.lease_until = None


def _accept(ticket: Ticket, request_id: str | None, token: str | None, how: str):
    ticket.city_id = request_id or ticket.city_id
    ticket.token = token or ticket.token
    ticket.send_state = "sent"
    ticket.maybe_stored = False
    ticket.last_error = None
    ticket.same_errors = 0
    _unclaim(ticket)
    poll = current_app.config["CITY_TOKEN_POLL"]
    ticket.next_attempt_at = (
        None if ticket.city_id else utcnow() + timedelta(seconds=poll)
    )
    record(ticket, "sent" if ticket.city_id else "token", "sender",
           notes=f"{how}: {ticket.city_id or ticket.token}", new="sent")  # fmt: skip


def _retry_later(ticket: Ticket, error: CityUnavailable, rng, report: SendReport):
    config = current_app.config
    ticket.last_error = error.reason
    _unclaim(ticket)
    if ticket.attempts >= config["CITY_MAX_ATTEMPTS"]:
        ticket.send_state = "failed"
        ticket.next_attempt_at = None
        record(ticket, "failed", "sender", notes=error.reason, new="failed")
        report.failed += 1
    else:
        ticket.send_state = "queued"
        delay = backoff(ticket.attempts, rng, error.retry_after)
        ticket.next_attempt_at = utcnow() + timedelta(seconds=delay)
        record(ticket, "retrying", "sender", notes=error.reason)
        report.retrying += 1


def _release(tickets: list[tuple[Ticket, bool]], pause: float, rng: random.Random):
    """Put back what this run has not sent (spread out when the city asked to wait):
    each (ticket, whether it was confirming)."""
    for ticket, was_confirming in tickets:
        ticket.send_state = "confirming" if was_confirming else "queued"
        _unclaim(ticket)
        ticket.next_attempt_at = utcnow() + timedelta(
            seconds=pause + rng.uniform(0, pause)
        )
    db.session.commit()


def _wait_for_city(ticket: Ticket, rng, report: SendReport, again: bool) -> None:
    """Its answer was lost and the city's listing cannot yet tell whether it holds it:
    look again later, never post it blind (an admin may decide meanwhile).
    :param again: it was confirming already (its history says so once)."""
    ticket.send_state = "confirming"
    _unclaim(ticket)
    steps = min(ticket.attempts, CONFIRM_BACKOFF_STEPS)
    ticket.next_attempt_at = utcnow() + timedelta(seconds=backoff(steps, rng))
    if not again:  # the history's line says it all: "waiting for the city to confirm"
        record(ticket, "confirming", "sender")
    report.confirming += 1


def _same_server_error(ticket: Ticket, error: CityUnavailable) -> bool:
    """Count the city's answer to this POST; True when it is the same server error
    often enough in a row that retrying cannot be what helps."""
    answered_5xx = error.status is not None and error.status >= 500
    if not answered_5xx or error.status == 503:
        ticket.same_errors = 0  # no answer, or "come back later": the city is away
        return False
    if ticket.same_errors and ticket.last_error == error.reason:
        ticket.same_errors += 1
    else:
        ticket.same_errors = 1
    return ticket.same_errors >= current_app.config["CITY_HOLD_AFTER"]


def _hold_for_admin(ticket: Ticket, error: CityUnavailable, report: SendReport):
    ticket.send_state = "held"
    # What the filer and the admin read: the city's own words when it gave any.
    ticket.last_error = error.words or error.reason
    ticket.next_attempt_at = None
    _unclaim(ticket)
    record(ticket, "held", "sender", notes=ticket.last_error, new="held")
    report.held += 1


def _send_one(api, ticket: Ticket, rng, report: SendReport, confirming=False):
    """Send or settle one claimed ticket; answer the id its POST was just given, if
    that is what happened (the listing may be probed with it)."""
    claim = ticket.claimed_by
    # One attempt is the search (when needed) plus the POST: both count toward backoff
    # and toward the bound, so a city that stays down is not asked forever. A look at
    # a confirming ticket is not an attempt: it waits for the city, not on it.
    if not confirming:
        ticket.attempts += 1
    ticket.first_attempt_at = ticket.first_attempt_at or utcnow()
    _hold(ticket, claim)
    if ticket.maybe_stored:
        try:
            search = find_at_city(api, ticket, lambda: _hold(ticket, claim))
        except CityRejected as error:
            # The city will not be searched this way now; never post blind because of
            # it: try again later, and in the end an admin decides.
            raise CityUnavailable(
                f"the city refused the search for it: {error.reason}",
                status=error.status,
                words=error.reason,
            ) from None
        if search.found is not None:
            found = search.found
            _accept(ticket, found.service_request_id, found.token, "found at the city")
            report.adopted += 1
            return
        if not absence_proved(ticket, search):
            _wait_for_city(ticket, rng, report, again=confirming)
            return
        if confirming:
            ticket.attempts += 1  # it is sent again: that is an attempt
    ticket.maybe_stored = True
    ticket.last_posted_at = utcnow()
    _hold(ticket, claim)  # committed before the POST: a crash from here is recoverable
    try:
        receipt = api.submit_request(_outgoing(ticket))
    except CityRejected as error:
        ticket.send_state = "rejected"
        ticket.maybe_stored = False
        ticket.last_error = error.reason
        ticket.next_attempt_at = None
        ticket.same_errors = 0
        _unclaim(ticket)
        record(ticket, "rejected", "sender", notes=error.reason, new="rejected")
        report.rejected += 1
        return
    except CityUnavailable as error:
        if _same_server_error(ticket, error):
            _hold_for_admin(ticket, error, report)
            return
        # A server error is the city's word that it failed: looked for first where
        # the listing can show it, posted again where the city hides new requests.
        answered = ticket.same_errors > 0
        ticket.maybe_stored = error.maybe_stored and not (
            answered and listing_hides_new_requests()
        )
        raise
    _accept(ticket, receipt.service_request_id, receipt.token, ACCEPTED)
    ticket.service_notice = receipt.service_notice
    if ticket.city_id:
        report.sent += 1
    else:
        report.pending_token += 1
    return receipt.service_request_id


def _probe_after(api, city_id: str) -> None:
    """A POST was just given this id: does the city's listing show it? (What a lost
    answer may be proved by later.) A failed look changes nothing; the next asks again.
    Never with a request found later: an older one proves nothing of new ones."""
    if not probe_due():
        return
    try:
        probe_listing(api, city_id)
    except CityAPIError:
        db.session.rollback()


def send_due(
    api,
    worker: str = "worker",
    limit: int | None = None,
    rng=None,
    budget=None,
    tokens: bool = True,
) -> SendReport:
    """Send every due ticket once; answer what happened.

    :param api: the city client.
    :param worker: a name for this process, recorded in the claim.
    :param budget: a portal.duties.Budget: once spent, the rest waits for next time.
    :param tokens: also ask what pending tokens became (the worker has a duty of its
        own for that).
    """
    rng = rng or random.Random()
    report = SendReport()
    batch = limit or current_app.config["CITY_SEND_BATCH"]
    now = utcnow()
    waiting = claim(worker, max(1, batch // 5), now, confirming=True)
    tickets = [(t, True) for t in waiting] + [
        (t, False) for t in claim(worker, batch, now)
    ]
    report.claimed = len(tickets)
    for index, (ticket, was_confirming) in enumerate(tickets):
        if budget is not None and budget.spent():
            _release(tickets[index:], 0.0, rng)
            break
        posted_as = None
        try:
            posted_as = _send_one(api, ticket, rng, report, confirming=was_confirming)
        except ClaimLost:
            report.lost_claims += 1
            continue
        except CityUnavailable as error:
            _retry_later(ticket, error, rng, report)
            if error.retry_after is not None:
                db.session.commit()
                _release(tickets[index + 1 :], error.retry_after, rng)
                report.paused_for = error.retry_after
                report.changed.append(ticket.id)
                break
        db.session.commit()
        report.changed.append(ticket.id)
        if posted_as:
            _probe_after(api, posted_as)
    notify.tickets_changed(report.changed)
    if tokens:
        report.tokens_resolved = resolve_tokens(api)
    return report


def resolve_tokens(api, limit: int = 100, budget=None) -> int:
    """Ask the city what id each pending token became; never posts anything."""
    now = utcnow()
    pending = db.session.scalars(
        select(Ticket)
        .where(
            Ticket.send_state == "sent",
            Ticket.city_id.is_(None),
            Ticket.token.is_not(None),
        )
        .where(or_(Ticket.next_attempt_at.is_(None), Ticket.next_attempt_at <= now))
        .limit(limit)
    ).all()
    resolved = []
    poll = timedelta(seconds=current_app.config["CITY_TOKEN_POLL"])
    for ticket in pending:
        if budget is not None and budget.spent():
            break
        try:
            request_id = api.request_id_from_token(ticket.token)
        except (CityUnavailable, CityRejected) as error:
            ticket.last_error = error.reason
            request_id = None
        if request_id:
            ticket.city_id = request_id
            ticket.next_attempt_at = None
            record(
                ticket, "sent", "sender", notes=f"token {ticket.token} is {request_id}"
            )
            resolved.append(ticket.id)
        else:
            ticket.next_attempt_at = now + poll
        db.session.commit()
    notify.tickets_changed(resolved)
    return len(resolved)
