"""The portal's own GeoReport v2: tickets to read and file (outbox), the city's push."""

import hmac
import logging
from datetime import datetime

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from portal.bounds import whole
from portal.caching import public_conditional
from portal.cityapi.types import ServiceRequest
from portal.errors import PortalError
from portal.extensions import csrf, db, limiter
from portal.georeport import answer, errors, parse_date
from portal.tickets import notify
from portal.tickets import open311_reports as reports
from portal.tickets.filing import file_ticket
from portal.tickets.inputs import filing_limit, photo_url
from portal.tickets.models import CityService, Ticket
from portal.tickets.sync import apply_update

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
log = logging.getLogger(__name__)
# Machine-to-machine: every write authenticates with a key in its form instead.
csrf.exempt(bp)

KEY_SERVICE = (
    "GET needs no key. To file (POST requests), send api_key: a personal API token "
    "(np_…, from your profile page) or an application key (npa_…) an administrator "
    "issues. Every report answers a token; GET tokens/{token} gives the city's "
    "service_request_id once the portal has sent it."
)

PUSH_STATUSES = {
    "open", "closed", "fixed", "in_progress", "investigating", "planned",
    "action_scheduled", "no_further_action", "not_councils_responsibility",
    "duplicate", "internal_referral", "cancelled", "for_triage",
}  # fmt: skip


def _error(fmt: str, status: int, description: str) -> Response:
    return errors(fmt, status, [(status, description)])


def _format(fmt: str) -> str:
    return fmt if fmt in ("json", "xml") else "json"


def _request_format() -> str:
    return _format((request.view_args or {}).get("fmt", "json"))


@bp.errorhandler(PortalError)
def _portal_error(error: PortalError):
    # The app's own checks (text no database holds, nameless form parts) included.
    refused = reports.refusal(error)
    return errors(_request_format(), refused.status, refused.pairs)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    # 413, 429 and unreadable bodies in the spec's shape, keeping their headers.
    status = error.code or 400
    reason = error.description or error.name
    if status == 429:
        reason = f"too many requests: at most {reason}"
    response = _error(_request_format(), status, reason)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _view(ticket) -> dict:
    """A request as the spec shows it, from a ticket or a row of ``LISTED``."""
    return {
        "service_request_id": ticket.city_id,
        "status": "closed" if ticket.status in ("closed", "fixed") else "open",
        "status_notes": ticket.status_notes,
        "service_name": ticket.service_name,
        "service_code": ticket.service_code,
        "description": ticket.description,
        "agency_responsible": ticket.agency,
        "requested_datetime": _iso(ticket.requested_at),
        "updated_datetime": _iso(ticket.city_updated_at or ticket.requested_at),
        "expected_datetime": _iso(ticket.expected_at),
        "address": ticket.address,
        "lat": ticket.lat,
        "long": ticket.lon,
        "media_url": ticket.media_url,
    }


@bp.get("/discovery.<fmt>")
def discovery(fmt):
    return answer(_format(fmt), "discovery", {
        "changeset": "2026-11-23", "contact": current_app.config["CITY_NAME"],
        "key_service": KEY_SERVICE,
        "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2",
                       "url": request.url_root.rstrip("/") + "/open311/v2",
                       "changeset": "2026-11-23", "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    })  # fmt: skip


@bp.get("/services.<fmt>")
def services(fmt):
    rows = db.session.scalars(
        select(CityService).where(CityService.active).order_by(CityService.name)
    )
    payload = [
        {
            "service_code": r.code,
            "service_name": r.name,
            "description": r.description,
            "metadata": bool(r.attributes),
            # Filing answers a token (the city's id comes once the outbox sent it).
            "type": "batch",
            "keywords": ", ".join(r.keywords),
            "group": r.group,
        }
        for r in rows
    ]
    return answer(_format(fmt), "services", payload)


# What a listed request shows, read as rows: no ORM object per ticket (a thousand of
# them cost more than the query).
LISTED = tuple(
    getattr(Ticket, name)
    for name in (
        "city_id", "status", "status_notes", "service_name", "service_code",
        "description", "agency", "requested_at", "city_updated_at", "expected_at",
        "address", "lat", "lon", "media_url",
    )
)  # fmt: skip


@bp.get("/requests.<fmt>")
def requests(fmt):
    fmt = _format(fmt)
    query = select(*LISTED).where(Ticket.city_id.is_not(None))  # what the city knows
    args = request.args
    try:
        ids = [i for i in args.get("service_request_id", "").split(",") if i.strip()]
        if ids:
            query = query.where(Ticket.city_id.in_([i.strip() for i in ids]))
        else:
            codes = [
                c.strip() for c in args.get("service_code", "").split(",") if c.strip()
            ]
            if codes:
                query = query.where(Ticket.service_code.in_(codes))
            statuses = {
                s.strip().lower()
                for s in args.get("status", "").split(",")
                if s.strip()
            }
            if statuses - {"open", "closed"}:
                return _error(fmt, 400, "status must be open and/or closed")
            if statuses == {"open"}:
                query = query.where(Ticket.status.not_in(("closed", "fixed")))
            elif statuses == {"closed"}:
                query = query.where(Ticket.status.in_(("closed", "fixed")))
            for name, condition in (
                ("start_date", lambda v: Ticket.requested_at >= v),
                ("end_date", lambda v: Ticket.requested_at <= v),
                ("updated_after", lambda v: Ticket.city_updated_at > v),
                ("updated_before", lambda v: Ticket.city_updated_at <= v),
            ):
                moment = parse_date(request.args.get(name), name)
                if moment is not None:
                    query = query.where(condition(moment))
    except ValueError as error:
        return _error(fmt, 400, str(error) or "invalid parameter")
    try:
        page = whole(args.get("page") or 1)
        page_size = whole(args.get("page_size") or 1000)
    except ValueError:
        page = page_size = 0  # not a number, or past any page there can be
    if page < 1 or not 1 <= page_size <= 1000:
        return _error(fmt, 400, "page must be 1 or more and page_size 1 to 1000")
    query = query.order_by(Ticket.id).limit(page_size).offset((page - 1) * page_size)
    listed = answer(
        fmt, "service_requests", [_view(row) for row in db.session.execute(query)]
    )
    # Public data, the same for every caller: any cache may keep it, but asks again
    # (a 304 when the body is the same) before using it.
    return public_conditional(listed)


@bp.get("/services/<code>.<fmt>")
def service_definition(code, fmt):
    fmt = _format(fmt)
    service = db.session.get(CityService, code)
    if service is None or not service.active:
        return _error(fmt, 404, f"no service {code[:64]}")
    return answer(fmt, "service_definition", reports.definition(service))


@bp.post("/requests.<fmt>")
@limiter.limit(
    filing_limit, key_func=reports.limit_key, exempt_when=reports.without_caller
)
def file_request(fmt):
    """File a report with api_key, as the site files it; answers the ticket's token."""
    fmt = _format(fmt)
    try:
        reports.require_form()
        # The key before anything else: without one, nothing about the fields is said.
        caller = reports.caller()
        if caller is None:
            raise reports.Refused(403, [(403, reports.bad_key_reason())])
        filing = reports.read_filing(request.form)
        try:
            ticket = file_ticket(
                caller.user,
                filing,
                photo_url,
                channel="open311",
                on_behalf_of=caller.app.name if caller.app else None,
            )
        except PortalError as error:
            raise reports.refusal(error, filing.service_code) from None
    except reports.Refused as refused:
        return errors(fmt, refused.status, refused.pairs)
    return answer(fmt, "service_requests", [{"token": ticket.ref}])


@bp.get("/tokens/<token>.<fmt>")
def one_token(token, fmt):
    fmt = _format(fmt)
    ticket = db.session.scalar(select(Ticket).where(Ticket.ref == token[:20]))
    if ticket is None or ticket.ref != token:
        return _error(fmt, 404, f"no token {token[:20]}")
    return answer(
        fmt,
        "service_requests",
        [{"service_request_id": ticket.city_id, "token": ticket.ref}],
    )


@bp.get("/requests/<request_id>.<fmt>")
def one_request(request_id, fmt):
    fmt = _format(fmt)
    ticket = db.session.scalar(select(Ticket).where(Ticket.city_id == request_id))
    if ticket is None:
        return _error(fmt, 404, f"no request {request_id}")
    return answer(fmt, "service_requests", [_view(ticket)])


def push_key(config) -> str | None:
    """The key a city must send with pushed updates; None: the push is off.

    The sandbox's demo key is public, so it opens the push only while the built-in
    sandbox is the city. A real city needs its own ``CITY_PUSH_KEY``.
    """
    if not config.get("CITY_URL"):
        return config.get("CITY_PUSH_KEY") or config["SANDBOX_API_KEY"]
    key = config.get("CITY_PUSH_KEY")
    return key if key and key != config["SANDBOX_API_KEY"] else None


@bp.record_once
def _say_if_push_is_off(state) -> None:
    if push_key(state.app.config) is None:
        log.warning(
            "PORTAL_CITY_URL is set and PORTAL_CITY_PUSH_KEY is not (or is the "
            "sandbox's public demo key): pushed updates are refused; the sync "
            "still pulls every change."
        )


@bp.post("/servicerequestupdates.<fmt>")
@limiter.limit("600 per minute")
def push_update(fmt):
    """A city reports a change: update_id, service_request_id, status, updated_datetime,
    description (the notes). Wrong key: 403; malformed: 400."""
    fmt = _format(fmt)
    form = request.form
    key = push_key(current_app.config)
    if key is None:
        return _error(fmt, 403, "Pushed updates are not enabled on this portal")
    if not hmac.compare_digest(form.get("api_key", "").encode(), key.encode()):
        return _error(fmt, 403, "Invalid api_key received")
    required = ("update_id", "service_request_id", "status", "updated_datetime")
    missing = [name for name in required if not form.get(name, "").strip()]
    if missing:
        return _error(fmt, 400, f"missing: {', '.join(missing)}")
    status = form["status"].strip().lower()
    if status not in PUSH_STATUSES:
        return _error(fmt, 400, f"status {form['status']!r} is not one we know")
    try:
        moment = parse_date(form["updated_datetime"], "updated_datetime")
    except ValueError as error:
        return _error(fmt, 400, str(error))
    ticket = db.session.scalar(
        select(Ticket).where(Ticket.city_id == form["service_request_id"].strip())
    )
    if ticket is None:
        return _error(fmt, 404, f"no request {form['service_request_id']}")
    update = ServiceRequest(
        service_request_id=ticket.city_id,
        status="closed" if status in ("closed", "fixed") else status,
        status_notes=(form.get("description") or "").strip()[:4000] or None,
        updated_datetime=moment,
    )
    result = apply_update(update, "push", create=False)
    db.session.commit()
    if result is not None:
        notify.ticket_updated(ticket)
    return answer(fmt, "service_request_updates", [{"update_id": form["update_id"]}])
