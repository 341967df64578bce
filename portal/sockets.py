"""PortalNamespace: base of every Socket.IO namespace (login-aware, rate-limited,
errors emitted), and closing a user's or a login's sockets from the server side."""

from functools import lru_cache

from flask import Flask, current_app, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room, leave_room
from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from portal.auth.services import session_tag
from portal.errors import PermissionDenied, PortalError, ValidationFailed
from portal.extensions import socketio

# Events Socket.IO itself raises: never counted, never refused.
_LIFECYCLE = {"on_connect", "on_disconnect"}


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def login_room(session_key: str) -> str:
    return f"login:{session_tag(session_key)}"


def init_socket_limits(app: Flask) -> None:
    storage = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])
    app.extensions["socket_limiter"] = MovingWindowRateLimiter(storage)


@lru_cache(maxsize=8)
def _parsed(limit: str):
    return parse_many(limit)


def _within_limit() -> bool:
    limiter = current_app.extensions["socket_limiter"]
    limits = _parsed(current_app.config["SOCKET_EVENT_LIMIT"])
    return all(limiter.hit(limit, "socket", request.sid) for limit in limits)


def close_room_sockets(room: str) -> int:
    """Disconnect every socket in the room, in every namespace; answers how many.

    Runs in this process: each connection joins its user's and its login's rooms
    at connect, in the process serving it.
    """
    server = socketio.server
    if server is None:
        return 0
    closed = 0
    for namespace in list(server.manager.get_namespaces()):
        for sid, _eio_sid in list(server.manager.get_participants(namespace, room)):
            server.disconnect(sid, namespace=namespace)
            closed += 1
    return closed


def close_user_sockets(user_id: int) -> int:
    return close_room_sockets(user_room(user_id))


def close_login_sockets(session_key: str | None) -> int:
    return close_room_sockets(login_room(session_key)) if session_key else 0


class PortalNamespace(Namespace):
    """Event contract of the root namespace "/".

    - client ``whoami`` -> ack ``{"user": display_name | null}``: tells a page whether
    its
      socket carries the signed-in session.
    - server ``error`` ``{"code", "message", "fields"}``: any refused client event.
    """

    def __getattribute__(self, name):
        # Handlers run inside the event's request context (Flask-SocketIO pushes it
        # around the handler), so the refusal is emitted there, to the caller.
        attribute = super().__getattribute__(name)
        if not name.startswith("on_") or not callable(attribute):
            return attribute

        def guarded(*args):
            if name not in _LIFECYCLE and not _within_limit():
                emit(
                    "error",
                    {
                        "code": "rate_limited",
                        "message": _("Too many messages: slow down a little."),
                        "fields": {},
                    },
                )
                return None
            try:
                return attribute(*args)
            except PortalError as error:
                emit(
                    "error",
                    {
                        "code": error.code,
                        "message": error.message,
                        "fields": error.fields,
                    },
                )
                return None

        return guarded

    def on_connect(self, auth=None):
        # Rooms by which a logout or a suspension finds this socket again.
        if current_user.is_authenticated:
            join_room(user_room(current_user.id))
            if current_user.session_key:  # not when a token opened the socket
                join_room(login_room(current_user.session_key))

    def join(self, room: str) -> bool:
        """Join a room; False when the client left before its event was handled."""
        try:
            join_room(room)
        except ValueError:  # python-socketio: "sid is not connected"
            return False
        return True

    def leave(self, room: str) -> None:
        try:
            leave_room(room)
        except ValueError:
            pass

    def id_in(self, data, name: str) -> int:
        """The whole number a client event names (``{"thread": 3}``).

        :raises ValidationFailed: missing, or not a whole number (naming ``name``).
        """
        value = data.get(name) if isinstance(data, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValidationFailed(_("Give the %(name)s as a number.", name=name), name)
        return value

    def require_login(self):
        """:raises PermissionDenied: the socket carries no signed-in session."""
        if not current_user.is_authenticated:
            raise PermissionDenied(_("Sign in first."))
        return current_user

    def on_whoami(self):
        user = current_user if current_user.is_authenticated else None
        return {"user": user.display_name if user else None}
