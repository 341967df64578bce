"""Bulk filing: rows from a CSV, a form, drafts or the API, each checked like any
filing; good rows are queued (or become a "me too" on an open ticket already there),
bad rows keep their errors per cell, all in one transaction, once per batch key.

CSV columns (UTF-8, with or without BOM, a header row, at most 500 rows):
``service_code`` (required), ``description``, ``address`` or ``lat`` + ``lon``,
``different`` (yes: file even if an open ticket of the service is near), and one
``attribute[CODE]`` column per service question (several answers separated by ";").
"""

import csv
import hashlib
import io
import json
import math

from flask_babel import gettext as _
from slugify import slugify
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.areas.services import locate
from portal.bounds import is_valid_text
from portal.errors import PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.forums.services import signed_in
from portal.geocode import GeocoderUnavailable, get_geocoder
from portal.liaisons.models import Batch, BatchRow, Draft
from portal.liaisons.services import organizer_areas
from portal.tickets.filing import (
    MAX_DESCRIPTION,
    _answers,
    active_service,
    duplicates_near,
)
from portal.tickets.models import CityService, Ticket
from portal.tickets.services import add_support, queue_ticket

MAX_ROWS = 500
MAX_CSV_BYTES = 1024 * 1024  # 500 full rows fit several times over
COLUMNS = ("service_code", "description", "address", "lat", "lon", "different")
ATTRIBUTE_PREFIX = "attribute["
YES = {"yes", "y", "true", "1", "x"}
# Spreadsheets run cells that begin with these as formulas.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class FileRefused(ValidationFailed):
    """The file as a whole cannot be read as rows: nothing is filed."""


def parse_csv(data: bytes) -> list[dict]:
    """The rows of an uploaded CSV as dicts of stripped strings.

    :raises FileRefused: too big, not UTF-8, no header, unknown or missing columns,
    more than 500 rows, or broken quoting; the message says which.
    """
    if len(data) > MAX_CSV_BYTES:
        raise FileRefused(_("The file is over 1 MB: split it."), "file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FileRefused(
            _(
                "The file is not UTF-8 (byte %(at)d). Save it as CSV UTF-8.",
                at=error.start + 1,
            ),
            "file",
        ) from None
    if "\x00" in text:
        raise FileRefused(_("The file is not text: save it as CSV."), "file")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        table = list(reader)
    except csv.Error as error:
        raise FileRefused(
            _("The CSV is malformed near line %(n)d.", n=reader.line_num), "file"
        ) from error
    if "service_code" not in header:
        raise FileRefused(
            _("The first row must name the columns; service_code is missing."), "file"
        )
    unknown = [
        name
        for name in header
        if name not in COLUMNS
        and not (name.startswith(ATTRIBUTE_PREFIX) and name.endswith("]"))
    ]
    if unknown:
        raise FileRefused(
            _("Unknown columns: %(names)s.", names=", ".join(unknown[:5])), "file"
        )
    if len(set(header)) != len(header):
        raise FileRefused(_("A column is named twice."), "file")
    rows = [row for row in table if any(cell.strip() for cell in row)]
    if len(rows) > MAX_ROWS:
        raise FileRefused(_("%(n)d rows: at most 500 at a time.", n=len(rows)), "file")
    if not rows:
        raise FileRefused(_("The file has no rows under its header."), "file")
    parsed = []
    for row in rows:
        if len(row) != len(header):
            parsed.append({"_shape": len(row), **dict(zip(header, row, strict=False))})
        else:
            parsed.append({k: v.strip() for k, v in zip(header, row, strict=True)})
    return parsed


def batch_key(user, source: str, rows: list[dict], meeting_id, given: str = "") -> str:
    """The given idempotency key, or one from the content: the same rows sent twice
    by the same person are one batch."""
    if given:
        return hashlib.sha256(f"{user.id}:key:{given}".encode()).hexdigest()[:64]
    body = json.dumps([source, meeting_id, rows], sort_keys=True, default=str)
    return hashlib.sha256(f"{user.id}:{body}".encode()).hexdigest()[:64]


def _number(value, field: str, low: float, high: float, errors: dict):
    try:
        number = float(value)
    except (TypeError, ValueError):
        errors[field] = _("Give a number.")
        return None
    if not math.isfinite(number) or not low <= number <= high:
        errors[field] = _("Give a number from %(low)s to %(high)s.", low=low, high=high)
        return None
    return number


def _attributes(cells: dict, errors: dict) -> dict:
    given = cells.get("attributes") or {}
    if not isinstance(given, dict):
        errors["attributes"] = _(
            "Give the answers as an object: question codes and their answers."
        )
        given = {}
    given = dict(given)
    for name, value in cells.items():
        if name.startswith(ATTRIBUTE_PREFIX) and name.endswith("]") and value:
            values = [part.strip() for part in str(value).split(";") if part.strip()]
            given[name[len(ATTRIBUTE_PREFIX) : -1]] = (
                values if len(values) > 1 else values[0]
            )
    return given


def check_row(cells: dict, area_ids: set[int]):
    """(service, answers, lat, lon, address, area) or the errors by column."""
    errors: dict[str, str] = {}
    if "_shape" in cells:
        errors["row"] = _(
            "This row has %(n)d cells; the header names another number.",
            n=cells["_shape"],
        )
        return None, errors
    for name, value in cells.items():
        # A JSON body is checked whole before any view; a CSV's cells are checked here,
        # so one bad cell marks its row, not the file.
        if not is_valid_text(str(name)):
            errors["row"] = _("A column name holds characters that are not text.")
        elif isinstance(value, str) and not is_valid_text(value):
            errors[str(name)] = _("Contains characters that are not valid text.")
    service = answers = None
    try:
        service = active_service(str(cells.get("service_code") or "").strip())
    except ValidationFailed as error:
        errors.update(error.fields)
    description = str(cells.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = _("Use at most 4,000 characters.")
    if service is not None:
        try:
            answers = _answers(service, _attributes(cells, errors))
        except ValidationFailed as error:
            errors.update(error.fields)
    lat = lon = None
    address = " ".join(str(cells.get("address") or "").split())[:300]
    if str(cells.get("lat") or "").strip() or str(cells.get("lon") or "").strip():
        lat = _number(cells.get("lat"), "lat", -90, 90, errors)
        lon = _number(cells.get("lon"), "lon", -180, 180, errors)
    elif address:
        try:
            places = get_geocoder().search(address, limit=1)
        except GeocoderUnavailable:
            places = []
        if places and places[0].kind != "area":
            lat, lon, address = places[0].lat, places[0].lon, places[0].label
        else:
            errors["address"] = _("This address was not found; give lat and lon.")
    else:
        errors["address"] = _("Give an address, or lat and lon.")
    area = None
    if lat is not None and lon is not None:
        area = locate(lat, lon)
        field = "address" if address and "lat" not in cells else "lat"
        if area is None:
            errors[field] = _("That place is outside the city's neighborhoods.")
        elif area.id not in area_ids:
            errors[field] = _("%(area)s is not one of your areas.", area=area.name)
    if errors:
        return None, errors
    return (service, answers, lat, lon, address, area, description), {}


def file_batch(
    user, rows: list[dict], source: str, meeting=None, key: str = ""
) -> tuple[Batch, bool]:
    """Check and file every row; answers (batch, replayed).

    :raises PermissionDenied: not a captain or liaison anywhere (or of the meeting's
    area). :raises ValidationFailed: no rows, or more than 500.
    """
    user = signed_in(user)
    areas = organizer_areas(user)
    if not areas:
        raise PermissionDenied(_("Only captains and liaisons file in bulk."))
    if meeting is not None and meeting.area_id not in {a.id for a in areas}:
        raise PermissionDenied(_("Only the area's captains and liaisons can do this."))
    if not rows:
        raise ValidationFailed(_("Give at least one row."), "rows")
    if len(rows) > MAX_ROWS:
        raise ValidationFailed(_("At most 500 rows at a time."), "rows")
    meeting_id = meeting.id if meeting else None
    digest = batch_key(user, source, rows, meeting_id, key)
    existing = _existing(user, digest)
    if existing is not None:
        return existing, True
    batch = Batch(created_by=user, meeting=meeting, key=digest, source=source)
    db.session.add(batch)
    area_ids = {area.id for area in areas}
    behalf = _("the meeting “%(title)s”", title=meeting.title) if meeting else None
    for number, cells in enumerate(rows, start=1):
        batch.rows.append(file_row(user, number, cells, area_ids, behalf))
        db.session.flush()  # the next row's duplicate check sees this one's ticket
    try:
        db.session.commit()
    except IntegrityError:  # the same batch, submitted at the same moment
        db.session.rollback()
        return _existing(user, digest), True
    return batch, False


def _existing(user, digest: str) -> Batch | None:
    return db.session.scalar(
        select(Batch).where(Batch.created_by_id == user.id, Batch.key == digest)
    )


def file_row(user, number: int, cells: dict, area_ids, behalf) -> BatchRow:
    """One row checked and filed (or turned into a "me too"), in the caller's
    transaction; a row with errors keeps them by column."""
    checked, errors = check_row(cells, area_ids)
    # What the liaison gave, without the parser's notes (like "_shape").
    stored = {k: v for k, v in cells.items() if not k.startswith("_")}
    if errors:
        return BatchRow(number=number, cells=stored, outcome="invalid", errors=errors)
    service, answers, lat, lon, address, area, description = checked
    different = str(cells.get("different") or "").strip().lower() in YES
    if not different:
        duplicates = duplicates_near(service.code, lat, lon)
        if duplicates:
            # The nearest open one (perhaps an earlier row of this batch: then it is
            # the liaison's own, and nobody is counted twice).
            existing = db.session.get(Ticket, duplicates[0].id)
            add_support(user, existing)
            return BatchRow(
                number=number, cells=stored, outcome="me_too", ticket=existing
            )
    ticket = queue_ticket(
        service.code,
        lat=lat,
        lon=lon,
        address=address or None,
        description=description,
        attributes=answers,
        filed_by=user,
        on_behalf_of=behalf,
        channel="batch",
        area=area,
        commit=False,
    )
    return BatchRow(number=number, cells=stored, outcome="filed", ticket=ticket)


# Answers no word of an item can give: "no plates" says nothing about gas escaping.
_NOT_INFERRED = {"yes", "no", "unknown", "not-sure", "other"}


def inferred_answers(service: CityService | None, text: str) -> dict:
    """Single-choice answers an item's own words give ("streetlight out" -> Out),
    as ``attribute[CODE]`` cells; only when exactly one choice is named."""
    words = set(slugify(text or "").split("-"))
    answers = {}
    for question in (service.attributes if service else None) or []:
        if question.get("datatype") != "singlevaluelist":
            continue
        named = [
            str(option["key"])
            for option in question.get("values") or []
            if slugify(str(option["name"])) not in _NOT_INFERRED
            and (
                slugify(str(option["name"])) in words
                or slugify(str(option["key"])) in words
            )
        ]
        if len(named) == 1:
            answers[f"{ATTRIBUTE_PREFIX}{question['code']}]"] = named[0]
    return answers


def rows_from_drafts(drafts: list[Draft]) -> list[dict]:
    rows = []
    for draft in drafts:
        service = db.session.get(CityService, draft.service_code or "")
        row = {
            "service_code": draft.service_code or "",
            "description": draft.description,
            **inferred_answers(service, draft.source_text),
        }
        if draft.lat is not None and draft.lon is not None:
            row |= {"lat": draft.lat, "lon": draft.lon, "address": draft.address or ""}
        else:
            row["address"] = draft.address or ""
        rows.append(row)
    return rows
