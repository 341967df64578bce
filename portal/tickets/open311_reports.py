"""Filing via the portal's GeoReport v2: key owners, the form, errors, definitions."""

import re
from dataclasses import dataclass

from flask import g, request
from sqlalchemy import select

from portal.auth.models import User
from portal.auth.services import TOKEN_PREFIX, user_for_token
from portal.errors import Conflict, PortalError
from portal.extensions import db
from portal.tickets.app_keys import AppKey, app_for_key
from portal.tickets.filing import DuplicatesFound, Filing, LocationCheck
from portal.tickets.models import CityService, Ticket

ATTRIBUTE = re.compile(r"^attribute\[([^\]]{1,64})\](\[\])?$")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Every field the spec gives one value; a second one is a client's mistake, not ours
# to choose between.
SINGLE = (
    "api_key", "jurisdiction_id", "service_code", "lat", "long", "address_string",
    "address_id", "email", "device_id", "account_id", "first_name", "last_name",
    "phone", "description", "media_url", "location_choice", "not_duplicate",
)  # fmt: skip
# The site's field names as a GeoReport client knows them.
SPEC_NAMES = {
    "location": "location (lat and long, or address_string)",
    "address": "address_string",
}


class Refused(Exception):
    """A GeoReport error answer: the HTTP status and its (code, description) pairs."""

    def __init__(self, status: int, pairs):
        super().__init__(status)
        self.status, self.pairs = status, list(pairs)


@dataclass(frozen=True)
class Caller:
    """Who files: a resident by a personal API token, or an application by its key."""

    user: User | None = None
    app: AppKey | None = None

    @property
    def limit_key(self) -> str:
        return f"file:{self.user.id}" if self.user else f"file:app:{self.app.id}"


def caller() -> Caller | None:
    """The owner of the request's ``api_key``, looked up once per request."""
    if "_open311_caller" not in g:
        keys = request.form.getlist("api_key") if _is_form() else []
        found = None
        if len(keys) == 1:
            secret = keys[0].strip()
            # The JSON API's rule for personal tokens, reused whole: live, owner active.
            user = user_for_token(secret) if secret.startswith(TOKEN_PREFIX) else None
            app = None if user else app_for_key(secret)
            found = Caller(user=user, app=app) if user or app else None
        g._open311_caller = found
    return g._open311_caller


def limit_key() -> str:
    return caller().limit_key


def without_caller() -> bool:
    # A refused key is answered 403 by the view and spends nobody's quota.
    return caller() is None


def _is_form() -> bool:
    return request.mimetype in FORM_TYPES


def require_form() -> None:
    """:raises Refused: the body is not a form (JSON, say), so it holds no api_key."""
    if not _is_form():
        raise _bad("send the fields form-encoded (application/x-www-form-urlencoded)")


def bad_key_reason() -> str:
    if not request.form.get("api_key", "").strip():
        return "api_key is missing -- can't proceed with create_request."
    if len(request.form.getlist("api_key")) > 1:
        return "send one api_key -- can't proceed with create_request."
    return "Invalid api_key received -- can't proceed with create_request."


def _bad(*descriptions: str, code: int = 400) -> Refused:
    return Refused(400, [(code, text) for text in descriptions])


def read_filing(form) -> Filing:
    """The POST's fields as the site's Filing; the site's rules check it after.

    :raises Refused: a field sent twice, or only an address_id to say where.
    """
    twice = [name for name in SINGLE if len(form.getlist(name)) > 1]
    if twice:
        raise _bad(*(f"{name} was sent more than once" for name in twice))
    answers: dict = {}
    for name in form:
        match = ATTRIBUTE.match(name)
        if match:
            answers.setdefault(match.group(1), []).extend(form.getlist(name))

    def given(name):
        return form.get(name, "").strip() or None  # the spec: empty is absent

    if given("address_id") and not (
        given("lat") or given("long") or given("address_string")
    ):
        raise _bad(
            "address_id: this portal cannot look up address ids; "
            "send lat and long, or address_string"
        )
    return Filing(
        service_code=form.get("service_code", "").strip(),
        description=form.get("description", ""),
        # One answer stays a string, as the site's own form sends it.
        attributes={k: v[0] if len(v) == 1 else v for k, v in answers.items()},
        lat=given("lat"),
        lon=given("long"),
        address=form.get("address_string", ""),
        media_url=form.get("media_url", ""),
        # The JSON API's two follow-up answers, under the JSON API's names.
        location_choice=form.get("location_choice", "").strip().lower(),
        not_duplicate=form.get("not_duplicate", "").strip().lower() in ("1", "true"),
    )


def refusal(error: PortalError, service_code: str = "") -> Refused:
    """A domain error from filing as the spec's error answer (400 naming the field).

    The site's two questions (a typed address far from the pin, open tickets of the
    service nearby) carry code 409 in the body, under the spec's HTTP 400.
    """
    if error.status in (401, 403, 404, 413):  # the spec has no 401: a key is a 403
        status = 403 if error.status == 401 else error.status
        return Refused(status, [(status, error.message)])
    if "service_code" in error.fields and service_code:
        return Refused(404, [(404, f"service_code {service_code[:64]!r} not found")])
    if isinstance(error, DuplicatesFound):
        # The map's summary rows; a client knows tickets by city id or token.
        ids = [row.id for row in error.tickets]
        names = db.session.execute(
            select(Ticket.city_id, Ticket.ref)
            .where(Ticket.id.in_(ids))
            .order_by(Ticket.id)
        )
        nearby = ", ".join(city_id or ref for city_id, ref in names)
        return _bad(
            f"duplicates: {error.message} Open requests of this service nearby: "
            f"{nearby}. Send not_duplicate=true to file it anyway.",
            code=409,
        )
    if isinstance(error, LocationCheck):
        return _bad(
            f"location: {error.message} address_string is at "
            f"{error.fields['address_point']}, lat/long at "
            f"{error.fields['pin_point']}. Send location_choice=address or pin.",
            code=409,
        )
    code = 409 if isinstance(error, Conflict) else 400
    named = [f"{SPEC_NAMES.get(k, k)}: {why}" for k, why in error.fields.items()]
    return _bad(*(named or [error.message]), code=code)


def definition(service: CityService) -> dict:
    """The service's questions in the spec's shape, ``order`` counted from 1."""
    asked = sorted(
        enumerate(service.attributes or []),
        key=lambda pair: (pair[1].get("order") or 0, pair[0]),
    )
    return {
        "service_code": service.code,
        "attributes": [
            {
                "variable": bool(question.get("variable", True)),
                "code": question["code"],
                "datatype": question.get("datatype") or "string",
                "required": bool(question.get("required")),
                "datatype_description": question.get("datatype_description"),
                "order": position,
                "description": question.get("description") or "",
                "values": [
                    {"key": value["key"], "name": value["name"]}
                    for value in question.get("values") or []
                ],
            }
            for position, (_index, question) in enumerate(asked, start=1)
        ],
    }
