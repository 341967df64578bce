"""Logging set up once by the app factory, and the request id that ties an error page
to its traceback."""

import logging
import re
import secrets
import sys

from flask import Flask, g, has_request_context, request

_HANDLER_NAME = "portal"
_GIVEN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdFilter(logging.Filter):
    """Gives every record a ``request_id``: the request's, or ``-`` outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id() or "-"
        return True


def current_request_id() -> str | None:
    if not has_request_context():
        return None
    if "request_id" not in g:
        # A proxy's id is kept when it looks like one, so its logs and ours match.
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _GIVEN_ID.match(given) else secrets.token_hex(6)
    return g.request_id


def init_logging(app: Flask) -> None:
    """One stderr handler on the ``portal`` logger (the worker's, the reminders' and
    the error handler's), added once per process however many apps are made."""
    logger = logging.getLogger("portal")
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # Alembic's fileConfig, or any other, may have disabled loggers made before it.
    logger.disabled = False
    if not any(h.get_name() == _HANDLER_NAME for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_HANDLER_NAME)
        handler.addFilter(RequestIdFilter())
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(levelname)s %(name)s [request %(request_id)s] "
                "%(message)s"
            )
        )
        logger.addHandler(handler)

    @app.after_request
    def _tag_response(response):
        response.headers["X-Request-ID"] = current_request_id()
        return response
