"""JSON API v1: the OpenAPI document (flask-smorest), error schema, shared fields."""

import marshmallow as ma
from flask import Flask
from flask_babel import format_number, gettext
from flask_babel import lazy_gettext as _l
from flask_smorest import Api

from portal.bounds import MAX_WHOLE, clamp_moment, is_valid_text, storable_moment
from portal.errors import ValidationFailed
from portal.extensions import csrf


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True, metadata={"example": "validation_failed"})
    message = ma.fields.String(required=True)
    fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "Per-field reasons, keyed by field name."},
    )
    reference = ma.fields.String(
        metadata={"description": "On a 500: the request id the server's log names."}
    )


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBody, required=True)


class PortalApi(Api):
    ERROR_SCHEMA = ErrorSchema
    # Not one catch-all "default": each operation lists the errors it can answer
    # (document_errors), so a client, or a fuzzer, knows what to expect and an
    # undocumented status is a bug.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        # portal.errors answers every error, pages and API alike, in the documented
        # format.
        pass


class Text(ma.fields.String):
    """A string without NUL, control characters or lone surrogates, which no database
    or UTF-8 page can hold."""

    default_error_messages = {
        "surrogate": _l("Contains characters that are not valid text.")
    }

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_valid_text(text):
            raise self.make_error("surrogate")
        return text


class Whole(ma.fields.Integer):
    """A whole number the databases can hold: every integer an API call takes is one
    (a test checks), so 2**63 is a 422 naming its field, never an overflow."""

    def __init__(self, *, minimum: int = -MAX_WHOLE, maximum: int = MAX_WHOLE, **kw):
        super().__init__(**kw)
        self.minimum, self.maximum = max(minimum, -MAX_WHOLE), min(maximum, MAX_WHOLE)
        # The field's own range, when narrower, is the one worth saying.
        for check in self.validators:
            if isinstance(check, ma.validate.Range):
                if check.min is not None:
                    self.minimum = max(self.minimum, int(check.min))
                if check.max is not None:
                    self.maximum = min(self.maximum, int(check.max))

    def _validated(self, value):
        # Before the field's own validators, which would each add a message of theirs.
        number = super()._validated(value)
        if number is not None and not self.minimum <= number <= self.maximum:
            raise ma.ValidationError(
                gettext(
                    "Give a whole number from %(min)s to %(max)s.",
                    min=format_number(self.minimum),
                    max=format_number(self.maximum),
                )
            )
        return number


class Id(Whole):
    """The id of a row: 1 to ``MAX_WHOLE``."""

    def __init__(self, **kw):
        kw.setdefault("minimum", 1)
        super().__init__(**kw)


class When(ma.fields.AwareDateTime):
    """An ISO 8601 datetime with its offset. Stored values must lie between 1900 and
    2999 (``clamp=False``); filters are brought into that span (``clamp=True``).
    Either way the value comes out in UTC, never overflowing at the calendar's edges.
    """

    def __init__(self, *, clamp: bool = False, **kw):
        super().__init__(**kw)
        self.clamp = clamp

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        if self.clamp:
            return clamp_moment(moment)
        try:
            return storable_moment(moment, attr or "date")
        except ValidationFailed as error:
            raise ma.ValidationError(error.message) from None


api = PortalApi()

_WRITES = {"post", "put", "patch", "delete"}
_ERRORS = {
    "400": "The request could not be read (not JSON, nested too deep, a nameless "
    "form part).",
    "401": "No valid token or session.",
    "403": "Signed in, but not allowed (a role, an area, a suspension).",
    "404": "Nothing has that id or name.",
    "413": "The body is over the size limit.",
    "415": "The body is not of a type this operation reads.",
    "422": "A field is not valid (every query and body is checked for text no "
    "database stores); `fields` names it.",
    "429": "Too many requests: wait and try again.",
}


def document_errors(spec) -> None:
    """Give every operation the error answers that apply to it, by the rules the
    portal follows everywhere (those an operation declares itself are kept)."""
    for path, operations in spec._paths.items():
        for method, operation in operations.items():
            if method not in _WRITES | {"get"}:
                continue
            statuses = {"400", "422"}
            if operation.get("security"):
                statuses |= {"401", "403"}
            names = {p.get("name") for p in operation.get("parameters", [])}
            # A path id, an area's slug, and any write (which names an area, a
            # meeting, a quoted post or tickets) can name nothing.
            if "{" in path or "area" in names or method in _WRITES:
                statuses.add("404")
            if method in _WRITES:
                statuses |= {"413", "415", "429"}
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(
                    status,
                    {
                        "description": _ERRORS[status],
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}
                            }
                        },
                    },
                )


SECURITY = [{"bearerAuth": []}, {"sessionCookie": []}]


def init_api(app: Flask) -> None:
    from portal.areas.api import blp as areas_blp
    from portal.auth.api import blp as auth_blp
    from portal.events.api import blp as events_blp
    from portal.forums.api import blp as forums_blp
    from portal.forums.moderation_api import blp as moderation_blp
    from portal.liaisons.api import blp as liaisons_blp
    from portal.map.api import blp as map_blp
    from portal.notifications.api import blp as notifications_blp
    from portal.tickets.api import blp as tickets_blp
    from portal.tickets.services_api import blp as services_blp

    api.init_app(
        app,
        spec_kwargs={
            "info": {
                "description": (
                    "Neighborhood Portal JSON API. Authenticate with a personal API "
                    "token "
                    "(`Authorization: Bearer np_...`, made on the profile page or with "
                    "`portal tokens create`) or with the browser session plus the "
                    "`X-CSRFToken` header on writes. Errors always have the shape "
                    '`{"error": {"code", "message", "fields"}}`.'
                )
            },
            "servers": [{"url": "/"}],
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "np_ token"}
    )
    api.spec.components.security_scheme(
        "sessionCookie",
        {"type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"]},
    )
    mounted = (
        (areas_blp, "/api/v1/areas"),
        (auth_blp, "/api/v1/me"),
        (map_blp, "/api/v1/tickets"),
        (tickets_blp, "/api/v1/tickets"),
        (services_blp, "/api/v1/services"),
        (forums_blp, "/api/v1"),
        (moderation_blp, "/api/v1/moderation"),
        (liaisons_blp, "/api/v1"),
        (events_blp, "/api/v1/events"),
        (notifications_blp, "/api/v1/notifications"),
    )
    for blueprint, prefix in mounted:
        api.register_blueprint(blueprint, url_prefix=prefix)
        # Cookie-authenticated writes are still CSRF-checked in auth.session; tokens are
        # not.
        csrf.exempt(blueprint)
    document_errors(api.spec)
