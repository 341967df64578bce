"""Filing a ticket: service and its questions, where (pin, device, typed address),
the location check, duplicates nearby, photos; then it is stored ``queued``."""

import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from slugify import slugify

from portal.areas.services import locate
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.geocode import GeocoderUnavailable, get_geocoder
from portal.map.services import TicketFilter, distance, nearby
from portal.tickets import photos as photo_store
from portal.tickets.models import CityService, Ticket, TicketPhoto
from portal.tickets.services import queue_ticket, service_groups

MAX_DESCRIPTION = 4000
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class LocationCheck(Conflict):
    """The typed address and the pin (or device) disagree: ask which is right."""

    code = "location_check"

    def __init__(self, message, address_point, other_point, metres):
        super().__init__(message, "location")
        self.address_point, self.other_point, self.metres = (
            address_point,
            other_point,
            metres,
        )
        # For API clients: both points, to show and choose between.
        self.fields["address_point"] = "{:.6f},{:.6f}".format(*address_point)
        self.fields["pin_point"] = "{:.6f},{:.6f}".format(*other_point)


class DuplicatesFound(Conflict):
    """Open tickets of this service are already near: "me too", or say it differs."""

    code = "possible_duplicates"

    def __init__(self, message, tickets):
        super().__init__(message, "duplicates")
        self.tickets = tickets
        self.fields["duplicates"] = ",".join(str(row.id) for row in tickets)


@dataclass
class Filing:
    service_code: str
    description: str = ""
    attributes: dict = field(default_factory=dict)
    lat: float | None = None  # the pin, or the device when no pin was set
    lon: float | None = None
    device_lat: float | None = None
    device_lon: float | None = None
    address: str = ""
    # After a location check: "address" or "pin" says which point is right.
    location_choice: str = ""
    not_duplicate: bool = False
    photos: list[bytes] = field(default_factory=list)
    # A photo kept elsewhere (Open311's media_url); an attached photo takes its place.
    media_url: str = ""


def active_service(code: str) -> CityService:
    service = db.session.get(CityService, code or "")
    if service is None or not service.active:
        raise ValidationFailed(_("Choose one of the city's services."), "service_code")
    return service


def _stem(word: str) -> str:
    """A crude stem, enough for "piled" to meet "pile" and "dumping" "dumped"."""
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _stems(text: str) -> list[str]:
    return [_stem(word) for word in slugify(text or "").split("-") if word]


def suggest_services(text: str, limit: int = 3) -> list[CityService]:
    """Services whose names, keywords or descriptions share words with ``text``."""
    said = _stems(text)
    words = set(said)
    if not words:
        return []
    joined = f" {' '.join(said)} "
    scored = []
    for _group, members in service_groups():
        for service in members:
            name = set(_stems(service.name))
            keys = set(_stems(" ".join(service.keywords or [])))
            about = set(_stems(service.description or ""))
            score = 3 * len(words & keys) + 2 * len(words & name) + len(words & about)
            # Keywords of several words ("street light") count as a phrase too.
            for key in service.keywords or []:
                phrase = _stems(key)
                if len(phrase) > 1 and f" {' '.join(phrase)} " in joined:
                    score += 4
            if score:
                scored.append((score, service.name, service))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [service for _score, _name, service in scored[:limit]]


def _answers(service: CityService, given: dict) -> dict:
    """The service's questions, answered and checked by datatype."""
    answers, errors = {}, {}
    for question in service.attributes or []:
        if not question.get("variable", True):
            continue
        code = question["code"]
        name = f"attribute[{code}]"
        raw = given.get(code)
        values = raw if isinstance(raw, list) else ([] if raw in (None, "") else [raw])
        values = [str(v).strip() for v in values if str(v).strip()]
        if not values:
            if question.get("required"):
                errors[name] = _("Answer this question.")
            continue
        keys = {str(option["key"]) for option in question.get("values") or []}
        kind = question.get("datatype", "string")
        if kind in ("singlevaluelist", "multivaluelist"):
            if any(value not in keys for value in values) or (
                kind == "singlevaluelist" and len(values) > 1
            ):
                errors[name] = _("Choose from the answers offered.")
                continue
            answers[code] = values if kind == "multivaluelist" else values[0]
        elif kind == "number":
            if not NUMBER.match(values[0]):
                errors[name] = _("Give a number.")
                continue
            answers[code] = values[0]
        elif kind == "datetime":
            try:
                datetime.fromisoformat(values[0])
            except ValueError:
                errors[name] = _("Give a date and time.")
                continue
            answers[code] = values[0]
        else:
            if len(values[0]) > 500:
                errors[name] = _("Use at most 500 characters.")
                continue
            answers[code] = values[0]
    if errors:
        raise ValidationFailed(_("Some answers need another look."), fields=errors)
    return answers


def _point(lat, lon, name: str):
    if lat is None and lon is None:
        return None
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Give a latitude and a longitude."), name) from None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValidationFailed(_("Give a latitude and a longitude."), name)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationFailed(_("That point is not on Earth."), name)
    return lat, lon


def _media_url(value: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parts = urlsplit(value)
    except ValueError:  # an unclosed [ in the host, say
        parts = None
    if (
        len(value) > 500
        or parts is None
        or parts.scheme not in ("http", "https")
        or not parts.netloc
        or any(char.isspace() for char in value)
    ):
        raise ValidationFailed(
            _("Give a web address (http or https) of at most 500 characters."),
            "media_url",
        )
    return value


def resolve_location(filing: Filing):
    """(lat, lon, address) after the location check.

    :raises LocationCheck: the typed address is far from the pin or device.
    """
    pin = _point(filing.lat, filing.lon, "location")
    device = _point(filing.device_lat, filing.device_lon, "location")
    address = (filing.address or "").strip()
    if len(address) > 300:
        raise ValidationFailed(_("Use at most 300 characters."), "address")
    typed = None
    if address:
        try:
            places = get_geocoder().search(address, limit=1)
        except GeocoderUnavailable:
            places = []
        typed = (places[0].lat, places[0].lon) if places else None
        if typed is None and pin is None and device is None:
            raise ValidationFailed(
                _("This address was not found; put a pin on the map."), "address"
            )
    other = pin or device
    if other is None and typed is None:
        raise ValidationFailed(
            _("Say where: a pin on the map, your location, or an address."), "location"
        )
    if typed and other:
        metres = distance(*typed, *other)
        limit = current_app.config["LOCATION_CHECK_METRES"]
        if metres > limit and filing.location_choice not in ("address", "pin"):
            raise LocationCheck(
                _(
                    "The address you typed is %(m)s m from the point on the map. "
                    "Which one is right?",
                    m=round(metres),
                ),
                typed,
                other,
                metres,
            )
        if metres > limit and filing.location_choice == "address":
            return typed[0], typed[1], address
    lat, lon = other or typed
    if not address:
        place = None
        try:
            place = get_geocoder().reverse(lat, lon)
        except GeocoderUnavailable:
            pass
        address = place.label if place else ""
    return lat, lon, address


def duplicates_near(service_code: str, lat: float, lon: float) -> list:
    """Open tickets of the same service within the service's duplicate radius."""
    config = current_app.config
    radius = config["DUPLICATE_RADIUS_BY_SERVICE"].get(
        service_code, config["DUPLICATE_RADIUS"]
    )
    found = nearby(
        lat, lon, radius, TicketFilter(service_codes=(service_code,)), limit=10
    )
    return [row for _metres, row in found]


def file_ticket(
    user, filing: Filing, photo_url, *, channel="web", on_behalf_of=None
) -> Ticket:
    """Check everything, then store the ticket ``queued`` with its photos.

    :param photo_url: key -> the photo's public URL, sent to the city as media_url.
    :param on_behalf_of: the name of an application that files without a portal
        user (``user`` None), its key checked by the caller.
    :raises PermissionDenied: not signed in. :raises ValidationFailed: naming the
        field. :raises LocationCheck, DuplicatesFound: ask the filer first.
    """
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    if not signed_in and not on_behalf_of:
        raise PermissionDenied(_("Sign in to report a problem."))
    service = active_service(filing.service_code)
    description = (filing.description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(_("Use at most 4,000 characters."), "description")
    media_url = _media_url(filing.media_url)
    answers = _answers(service, filing.attributes)
    if len(filing.photos) > current_app.config["PHOTOS_PER_TICKET"]:
        raise ValidationFailed(_("Attach at most three photos."), "photo")
    lat, lon, address = resolve_location(filing)
    area = locate(lat, lon)
    if area is None:
        raise ValidationFailed(
            _("That place is outside the neighborhoods this portal serves."),
            "location",
        )
    if not filing.not_duplicate:
        duplicates = duplicates_near(service.code, lat, lon)
        if duplicates:
            raise DuplicatesFound(
                _("This may already be reported nearby. Is it the same problem?"),
                duplicates,
            )
    processed = [photo_store.process(data) for data in filing.photos]
    for photo in processed:
        photo_store.save(photo)
    try:
        ticket = queue_ticket(
            service.code,
            lat=lat,
            lon=lon,
            address=address or None,
            description=description,
            attributes=answers,
            media_url=photo_url(processed[0].key) if processed else media_url,
            filed_by=user if signed_in else None,
            on_behalf_of=on_behalf_of,
            channel=channel,
            area=area,
            photos=[
                TicketPhoto(
                    key=p.key, width=p.width, height=p.height, size=len(p.image)
                )
                for p in processed
            ],
        )
    except Exception:
        db.session.rollback()
        for photo in processed:
            photo_store.discard(photo)
        raise
    return ticket
