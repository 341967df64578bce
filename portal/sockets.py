"""PortalNamespace: base of every Socket.IO namespace (login-aware, rate-limited per
person, errors emitted, never raising), and closing sockets from the server side."""

import inspect
import logging
import time
from functools import lru_cache

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room, leave_room
from limits import parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from portal.auth.services import session_tag
from portal.bounds import MAX_WHOLE, bad_text_field, invalid_text_error
from portal.errors import PermissionDenied, PortalError, ValidationFailed
from portal.extensions import socketio
from portal.realtime import REDIS_TIMEOUTS

log = logging.getLogger(__name__)

# Events Socket.IO itself raises: never counted, never refused.
_LIFECYCLE = {"on_connect", "on_disconnect"}


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def login_room(session_key: str) -> str:
    return f"login:{session_tag(session_key)}"


def token_room(token_id: int) -> str:
    return f"token:{token_id}"


class SocketLimiter:
    """Moving-window limits counted in the shared storage (Redis with several
    processes); while it is away, in this process's memory, until it answers again.

    A limit then holds per process rather than across them: looser, never a refusal
    of everything, and never an error for the client.
    """

    RETRY_AFTER = 5.0  # seconds on memory before the shared storage is tried again

    def __init__(self, uri: str, options: dict | None = None):
        self.shared = None
        if not uri.startswith("memory://"):
            storage = storage_from_string(uri, **(options or {}))
            self.shared = MovingWindowRateLimiter(storage)
        self.local = MovingWindowRateLimiter(MemoryStorage())
        self._away = False
        self._shared_after = 0.0  # monotonic time before which memory counts

    def hit(self, limit, *identifiers) -> bool:
        """Count one event; False when it is over the limit."""
        if self.shared is None or time.monotonic() < self._shared_after:
            return self.local.hit(limit, *identifiers)
        try:
            within = self.shared.hit(limit, *identifiers)
        except Exception as error:  # the storage's failure is never the client's
            if not self._away:
                log.warning("socket limits count in memory for now: %s", error)
            self._away = True
            self._shared_after = time.monotonic() + self.RETRY_AFTER
            return self.local.hit(limit, *identifiers)
        if self._away:
            log.warning("socket limits count in the shared storage again")
            self._away = False
            self.local.storage.reset()  # the next outage counts from zero again
        return within


def init_socket_limits(app: Flask) -> None:
    # The storage and its client settings are Flask-Limiter's, so both kinds of limit
    # count in the same place and give up on a stalled Redis alike.
    uri = app.config["RATELIMIT_STORAGE_URI"]
    options = dict(REDIS_TIMEOUTS) if uri.startswith("redis") else {}
    options.update(app.config.get("RATELIMIT_STORAGE_OPTIONS") or {})
    app.extensions["socket_limiter"] = SocketLimiter(uri, options)


@lru_cache(maxsize=8)
def _parsed(limit: str):
    return parse_many(limit)


def _limit_key() -> str:
    # Per person, not per connection: ten tabs, or a reconnect, share one budget.
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return f"address:{request.remote_addr or 'unknown'}"


def _within_limit() -> bool:
    limiter = current_app.extensions["socket_limiter"]
    limits = _parsed(current_app.config["SOCKET_EVENT_LIMIT"])
    key = _limit_key()
    return all(limiter.hit(limit, "socket", key) for limit in limits)


def close_room_sockets(room: str) -> int:
    """Disconnect every socket in the room, in every namespace and every web process
    (over Redis when there are several); answers how many in this process.

    Each connection joins its user's and its login's (or its token's) rooms at
    connect, in the process serving it; with Redis, the others close theirs as the
    message reaches them (``portal.realtime.RedisQueue``).
    """
    server = socketio.server
    if server is None:
        return 0
    return server.manager.close_sockets(room)


def close_user_sockets(user_id: int) -> int:
    return close_room_sockets(user_room(user_id))


def close_login_sockets(session_key: str | None) -> int:
    return close_room_sockets(login_room(session_key)) if session_key else 0


def close_token_sockets(token_id: int) -> int:
    """Disconnect the sockets an API token opened; answers how many."""
    return close_room_sockets(token_room(token_id))


def _refuse(code: str, message: str, fields=None) -> None:
    try:
        emit("error", {"code": code, "message": message, "fields": fields or {}})
    except Exception:  # a message queue away, say: the refusal is all that is lost
        log.exception("socket error event %s could not be sent", code)


def _fits(handler, args) -> bool:
    try:
        inspect.signature(handler).bind(*args)
    except TypeError:
        return False
    return True


def _check_payload(handler, args) -> None:
    """:raises ValidationFailed: a string (or key) is not valid text, naming its
    field, or the event carries more or fewer arguments than its handler takes."""
    for arg in args:
        field = bad_text_field(arg)
        if field:
            raise invalid_text_error(field)
    if not _fits(handler, args):
        raise ValidationFailed(_("This message is not in the expected form."), "body")


def _guard_event(name: str, handler):
    def guarded(*args):
        # Everything inside the try, the limiter's storage and the user's loading
        # included: an exception escaping here is lost in a server thread, and the
        # client would get neither an ack nor an error.
        try:
            if not _within_limit():
                _refuse("rate_limited", _("Too many messages: slow down a little."))
                return None
            _check_payload(handler, args)
            return handler(*args)
        except PortalError as error:
            _refuse(error.code, error.message, error.fields)
        except Exception:
            log.exception("socket event %s on %s failed", name[3:], request.namespace)
            _refuse(
                "internal_error",
                _(
                    "Something went wrong on our side. It has been logged; "
                    "please try again."
                ),
            )
        return None

    return guarded


def _guard_lifecycle(name: str, handler):
    def guarded(*args):
        if not _fits(handler, args):
            # Flask-SocketIO tries connect(auth) before connect(), and
            # disconnect(reason) before disconnect(): a TypeError is how it learns.
            raise TypeError(f"{name} takes other arguments")
        try:
            return handler(*args)
        except ConnectionRefusedError:
            raise  # a connect handler saying no, on purpose
        except Exception:
            log.exception("socket %s on %s failed", name[3:], request.namespace)
            # A connection whose set-up failed is refused rather than half-joined.
            return False if name == "on_connect" else None

    return guarded


def _connected() -> bool:
    manager = socketio.server.manager
    sid, namespace = request.sid, request.namespace
    return manager.is_connected(sid, namespace) or manager.is_pre_connected(
        sid, namespace
    )


class PortalNamespace(Namespace):
    """Event contract of the root namespace "/".

    - client ``whoami`` -> ack ``{"user": display_name | null}``: tells a page whether
      its socket carries the signed-in session.
    - server ``error`` ``{"code", "message", "fields"}``: any refused client event:
      ``rate_limited``, ``validation_failed`` (text that is not valid text, a number
      out of range), ``forbidden``, ``not_found``, ``internal_error``.
    """

    def __getattribute__(self, name):
        # Handlers run inside the event's request context (Flask-SocketIO pushes it
        # around the handler), so the refusal is emitted there, to the caller.
        attribute = super().__getattribute__(name)
        if not name.startswith("on_") or not callable(attribute):
            return attribute
        if name in _LIFECYCLE:
            return _guard_lifecycle(name, attribute)
        return _guard_event(name, attribute)

    def on_connect(self, auth=None):
        """Join the rooms by which a logout, a suspension or a token's revocation
        finds this socket again."""
        if current_user.is_authenticated:
            join_room(user_room(current_user.id))
            if current_user.session_key:
                join_room(login_room(current_user.session_key))
            elif current_user.token_id:  # a script's socket, opened with a token
                join_room(token_room(current_user.token_id))

    def join(self, room: str) -> bool:
        """Join a room; False when the client left before its event was handled."""
        if not _connected():
            return False  # with a message queue, a gone sid is not even an error
        try:
            join_room(room)
        except (KeyError, ValueError):
            # Its connection closed meanwhile: python-socketio says ValueError when
            # no one is left in the namespace, KeyError when others are.
            return False
        return True

    def leave(self, room: str) -> None:
        """Leave a room; nothing happens when the client is gone already."""
        try:
            leave_room(room)
        except (KeyError, ValueError):
            pass

    def id_in(self, data, name: str) -> int:
        """The id a client event names (``{"thread": 3}``).

        :raises ValidationFailed: missing, not a whole number, or outside 1 to
            ``MAX_WHOLE`` (which no row has), naming ``name``.
        """
        value = data.get(name) if isinstance(data, dict) else None
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 1 <= value <= MAX_WHOLE
        ):
            raise ValidationFailed(
                _(
                    "Give the %(name)s as a number from 1 to %(max)s.",
                    name=name,
                    max=MAX_WHOLE,
                ),
                name,
            )
        return value

    def require_login(self):
        """:raises PermissionDenied: the socket carries no signed-in session."""
        if not current_user.is_authenticated:
            raise PermissionDenied(_("Sign in first."))
        return current_user

    def on_whoami(self):
        """Ack ``{"user": display_name | null}``."""
        user = current_user if current_user.is_authenticated else None
        return {"user": user.display_name if user else None}
