"""Typed domain errors raised by services, and handlers that render any error."""

import logging

import sqlalchemy.exc
from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.logs import current_request_id

log = logging.getLogger(__name__)


class PortalError(Exception):
    """Base of every error a service raises on purpose: an HTTP status and fields."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})
        if field:
            self.fields.setdefault(field, message)

    @property
    def field(self) -> str | None:
        return next(iter(self.fields), None)


class ValidationFailed(PortalError):
    status = 422
    code = "validation_failed"


class AuthenticationFailed(PortalError):
    status = 401
    code = "unauthorized"


class PermissionDenied(PortalError):
    status = 403
    code = "forbidden"


class NotFound(PortalError):
    status = 404
    code = "not_found"


class Conflict(PortalError):
    status = 409
    code = "conflict"


def wants_json() -> bool:
    """API paths always answer JSON, whatever the client accepts."""
    return request.path.startswith("/api/")


def error_response(
    status: int, code: str, message: str, fields=None, headers=None, reference=None
):
    if wants_json():
        body = {"error": {"code": code, "message": message, "fields": fields or {}}}
        if reference:
            body["error"]["reference"] = reference
        response = jsonify(body)
    else:
        try:
            response = render_template(
                "errors/error.html",
                status=status,
                message=message,
                fields=fields or {},
                reference=reference,
            )
        except Exception:
            # The layout itself failed (a broken template or database): still say
            # something.
            log.exception("error page could not be rendered")
            response = Response(message, mimetype="text/plain")
    return response, status, headers or {}


def _flatten_messages(messages) -> dict[str, str]:
    """webargs nests messages by location and field; the public format is flat."""
    fields: dict[str, str] = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            fields[prefix or "body"] = " ".join(value)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(f"{prefix}[{index}]", inner)
        else:
            fields[prefix or "body"] = str(value)

    for location, per_field in (messages or {}).items():
        # The location (json, query, form) is noise for the reader unless there are no
        # fields.
        if isinstance(per_field, dict):
            walk("", per_field)
        else:
            walk(location, per_field)
    return fields


_MESSAGES = {
    400: lambda: _("The request could not be understood."),
    401: lambda: _("Please sign in to continue."),
    403: lambda: _("You do not have permission to do that."),
    404: lambda: _("We could not find that page."),
    405: lambda: _("That action is not allowed here."),
    413: lambda: _(
        "What you sent is too large: the portal accepts at most %(mb)s MB.",
        mb=current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024),
    ),
    422: lambda: _("Some of what you sent is not valid."),
    429: lambda: _("Too many requests. Please wait a few minutes and try again."),
}


def handle_http_exception(exc: HTTPException):
    status = exc.code or 500
    fields: dict[str, str] = {}
    data = getattr(exc, "data", None) or {}
    if isinstance(exc, CSRFError):
        message = _(
            "This form expired or was sent without its security token. "
            "Reload the page and try again."
        )
        fields = {"csrf_token": exc.description}
    elif data.get("messages"):
        fields = _flatten_messages(data["messages"])
        message = _MESSAGES.get(status, _MESSAGES[400])()
    elif status == 429 and exc.description and not exc.description[0].isdigit():
        message = exc.description  # a limit's own error_message, already translated
    elif status == 400 and exc.description and "JSON" in exc.description:
        message = _("The request body is not valid JSON.")
        fields = {"body": message}
    else:
        message = _MESSAGES.get(status, lambda: exc.description)()
    code = {422: "validation_failed"}.get(status, _code_for(exc))
    headers = dict(exc.get_headers()) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    return error_response(status, code, message, fields, headers)


def _code_for(exc: HTTPException) -> str:
    return (exc.name or "error").lower().replace(" ", "_")


def handle_portal_error(exc: PortalError):
    return error_response(exc.status, exc.code, exc.message, exc.fields)


def handle_too_deep(exc: RecursionError):
    # json.loads recurses once per nesting level; a hostile body must not become a 500.
    message = _("The request body is nested too deeply.")
    return error_response(400, "bad_request", message, {"body": message})


def handle_busy(exc: Exception):
    # Every database connection of this process is taken (a storm night): say so and
    # when to come back, rather than queue the request for ever.
    log.warning("no database connection free for %s %s", request.method, request.path)
    message = _("The portal is very busy right now. Please try again in a moment.")
    return error_response(503, "busy", message, headers={"Retry-After": "5"})


def handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    # The traceback and the page carry the same request id, so a resident's report
    # leads an operator to the line.
    log.exception("unhandled error on %s %s", request.method, request.path)
    message = _(
        "Something went wrong on our side. It has been logged; please try again."
    )
    return error_response(
        500, "internal_error", message, reference=current_request_id()
    )


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(PortalError, handle_portal_error)
    app.register_error_handler(RecursionError, handle_too_deep)
    app.register_error_handler(sqlalchemy.exc.TimeoutError, handle_busy)
    app.register_error_handler(Exception, handle_unexpected)
