"""What the sandbox city does: take, list and resolve requests, and work on them."""

import random
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update

from portal import georeport
from portal.sandbox.catalog import AGENCY, by_code
from portal.sandbox.store import CityRequest, Store

STREETS = [
    "Market St", "Chestnut St", "Walnut St", "Spruce St", "Pine St", "Race St",
    "Arch St", "Vine St", "Spring Garden St", "Girard Ave", "Lehigh Ave", "N Broad St",
    "S Broad St", "Frankford Ave", "Kensington Ave", "Germantown Ave", "Ridge Ave",
    "Lancaster Ave", "Baltimore Ave", "E Passyunk Ave", "N 2nd St", "N Front St",
    "Girard Ave", "Cecil B Moore Ave", "W Allegheny Ave", "Castor Ave", "Oregon Ave",
]  # fmt: skip
CLOSING_NOTES = [
    "Case resolved.", "Repair completed.", "Crew cleaned the location.",
    "Duplicate of an existing request.", "Inspected: no violation found.",
    "Referred to the property owner.",
]  # fmt: skip
PROGRESS_NOTES = [
    "Assigned to a crew.", "Inspection scheduled.", "Work order created.",
    "Crew dispatched.",
]  # fmt: skip


class Refused(Exception):
    """A request the city will not take: HTTP status and the spec's error pairs."""

    def __init__(self, status: int, description: str, code: int | None = None):
        super().__init__(description)
        self.status = status
        self.errors = [(code or status, description)]


def now() -> datetime:
    return datetime.now(UTC)


def public_view(row: CityRequest) -> dict:
    """A request as GeoReport v2 shows it (ids as strings)."""
    service = by_code().get(row.service_code)
    return {
        "service_request_id": row.public_id,
        "token": row.token if not row.public_id else None,
        "status": row.status,
        "status_notes": row.status_notes,
        "service_name": service[1] if service else None,
        "service_code": row.service_code,
        "description": row.description,
        "agency_responsible": row.agency,
        "service_notice": row.service_notice,
        "requested_datetime": row.requested.isoformat(),
        "updated_datetime": row.updated.isoformat(),
        "expected_datetime": row.expected.isoformat() if row.expected else None,
        "address": row.address,
        "address_id": None,
        "zipcode": row.zipcode,
        "lat": row.lat,
        "long": row.long,
        "media_url": row.media_url,
    }


def _check_attributes(service: tuple, form, rule: str) -> dict:
    answers = {}
    for code, datatype, _question, required, values in service[6]:
        if datatype == "informational" or rule == "ignore":
            continue
        # A client that cannot read the definition cannot know what is required.
        required = required and rule == "check"
        if datatype == "multivaluelist":
            given = [v for v in form.getlist(f"attribute[{code}][]") if v]
        else:
            given = form.get(f"attribute[{code}]", "").strip()
        if required and not given:
            raise Refused(400, f"attribute[{code}] is required: {_question}")
        if not given:
            continue
        keys = {key for key, _name in values or []}
        chosen = given if isinstance(given, list) else [given]
        if values and any(v not in keys for v in chosen):
            raise Refused(
                400, f"attribute[{code}] must be one of {', '.join(sorted(keys))}"
            )
        if datatype == "number":
            try:
                float(given)
            except ValueError:
                raise Refused(400, f"attribute[{code}] must be a number") from None
        answers[code] = given
    return answers


def create_request(
    store: Store,
    form,
    batch_delay: float,
    *,
    tokens: str = "batch",
    attributes: str = "check",
    hidden: bool = False,
) -> CityRequest:
    """Validate a POSTed form and store the request. :raises Refused:

    tokens: which requests get a token first ("batch" services, "always", "never");
    attributes: "check", "lenient" (none required) or "ignore" (none read);
    hidden: left out of GET answers until :func:`publish_all`.
    """
    service = by_code().get(form.get("service_code", "").strip())
    if service is None:
        raise Refused(404, "service_code not found")
    lat, lon = form.get("lat", "").strip(), form.get("long", "").strip()
    address = form.get("address_string", "").strip()
    if bool(lat) != bool(lon):
        raise Refused(400, "lat and long must be sent together")
    if not (lat or address or form.get("address_id")):
        raise Refused(400, "a location is required: lat and long, or address_string")
    try:
        lat_f, lon_f = (float(lat), float(lon)) if lat else (None, None)
    except ValueError:
        raise Refused(400, "lat and long must be numbers") from None
    description = form.get("description", "")
    if len(description) > 4000:
        raise Refused(400, "description is longer than 4000 characters")
    answers = _check_attributes(service, form, attributes)
    moment = now()
    row = CityRequest(
        service_code=service[0],
        status="open",
        description=description or None,
        agency=AGENCY.get(service[2]),
        requested=moment,
        updated=moment,
        address=address or None,
        lat=lat_f,
        long=lon_f,
        media_url=form.get("media_url") or None,
        attributes=answers,
        contact={
            k: form.get(k)
            for k in ("email", "first_name", "last_name", "phone")
            if form.get(k)
        },  # fmt: skip
        hidden=hidden,
    )
    if tokens == "always" or (tokens == "batch" and service[3] == "batch"):
        row.token = secrets.token_hex(8)
        row.resolves_at = moment + timedelta(seconds=batch_delay)
    with store.write_lock, store.session() as session:
        session.add(row)
        session.flush()
        if not row.token:
            row.public_id = str(100_000 + row.id)
        session.commit()
    return row


def resolve_due_tokens(store: Store, at: datetime | None = None) -> int:
    """Give an id to every batch request whose processing time has come."""
    at = at or now()
    with store.write_lock, store.session() as session:
        rows = session.scalars(
            select(CityRequest).where(
                CityRequest.public_id.is_(None), CityRequest.resolves_at <= at
            )
        ).all()
        for row in rows:
            row.public_id = str(100_000 + row.id)
            row.updated = at
        session.commit()
    return len(rows)


def find_token(store: Store, token: str) -> CityRequest | None:
    resolve_due_tokens(store)
    with store.session() as session:
        return session.scalar(
            select(CityRequest).where(
                CityRequest.token == token, CityRequest.hidden.is_(False)
            )
        )


def publish_all(store: Store, at: datetime | None = None) -> int:
    """Publish every hidden request; publishing counts as an update (updated_after)."""
    at = at or now()
    with store.write_lock, store.session() as session:
        published = session.execute(
            update(CityRequest)
            .where(CityRequest.hidden.is_(True))
            .values(hidden=False, updated=at)
        ).rowcount
        session.commit()
    return published


def query_requests(
    store: Store, args, page_cap: int | None = None
) -> list[CityRequest]:
    """GET requests with the spec's filters and the paging/updated extensions.

    page_cap: page_size above it is silently cut to it, instead of refused.
    """
    query = select(CityRequest).where(CityRequest.hidden.is_(False))
    ids = [
        i.strip() for i in args.get("service_request_id", "").split(",") if i.strip()
    ]
    if ids:  # overrides every other parameter
        query = query.where(CityRequest.public_id.in_(ids))
    else:
        codes = [
            c.strip() for c in args.get("service_code", "").split(",") if c.strip()
        ]
        if codes:
            query = query.where(CityRequest.service_code.in_(codes))
        statuses = [
            s.strip().lower() for s in args.get("status", "").split(",") if s.strip()
        ]
        if statuses:
            query = query.where(CityRequest.status.in_(statuses))
        bounds = {
            "start_date": lambda v: CityRequest.requested >= v,
            "end_date": lambda v: CityRequest.requested <= v,
            "updated_after": lambda v: CityRequest.updated > v,
            "updated_before": lambda v: CityRequest.updated <= v,
        }
        for name, condition in bounds.items():
            value = parse_date(args.get(name), name)
            if value is not None:
                query = query.where(condition(value))
        if not any(args.get(k) for k in ("start_date", "updated_after", "status")):
            query = query.where(CityRequest.requested >= now() - timedelta(days=90))
    page_size = _int(
        args.get("page_size"), 1000, "page_size", 1, 10**9 if page_cap else 1000
    )
    page_size = min(page_size, page_cap or page_size)
    page = _int(args.get("page"), 1, "page", 1, 1_000_000)
    query = query.where(
        or_(CityRequest.public_id.is_not(None), CityRequest.token.is_not(None))
    )
    query = query.order_by(CityRequest.updated, CityRequest.id)
    query = query.limit(page_size).offset((page - 1) * page_size)
    with store.session() as session:
        return list(session.scalars(query))


def parse_date(value: str | None, name: str) -> datetime | None:
    """:raises Refused: not a W3C date with a zone."""
    try:
        return georeport.parse_date(value, name)
    except ValueError as error:
        raise Refused(400, str(error)) from None


def _int(value, default: int, name: str, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise Refused(400, f"{name} must be a whole number") from None
    if not low <= number <= high:
        raise Refused(400, f"{name} must be between {low} and {high}")
    return number


def tick(store: Store, rng: random.Random | None = None, share: float = 0.05) -> dict:
    """Work through open requests as a city would: publish, notes, dates, closing."""
    rng = rng or random.Random()
    moment = now()
    published = publish_all(store, moment)
    resolved = resolve_due_tokens(store, moment)
    progressed = closed = 0
    with store.write_lock, store.session() as session:
        open_rows = session.scalars(
            select(CityRequest).where(
                CityRequest.status == "open", CityRequest.public_id.is_not(None)
            )
        ).all()
        for row in open_rows:
            if rng.random() >= share:
                continue
            if row.status_notes in PROGRESS_NOTES and rng.random() < 0.6:
                row.status = "closed"
                row.status_notes = rng.choice(CLOSING_NOTES)
                closed += 1
            else:
                row.status_notes = rng.choice(PROGRESS_NOTES)
                row.expected = moment + timedelta(days=rng.randint(1, 30))
                progressed += 1
            row.updated = moment
        session.commit()
    return {
        "published": published,
        "resolved": resolved,
        "progressed": progressed,
        "closed": closed,
    }


def count(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(CityRequest))
