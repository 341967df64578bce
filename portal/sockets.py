"""PortalNamespace: base of every Socket.IO namespace (login-aware, errors emitted)."""

from flask_babel import gettext as _
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room, leave_room

from portal.errors import PermissionDenied, PortalError


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

    def require_login(self):
        """:raises PermissionDenied: the socket carries no signed-in session."""
        if not current_user.is_authenticated:
            raise PermissionDenied(_("Sign in first."))
        return current_user

    def on_whoami(self):
        user = current_user if current_user.is_authenticated else None
        return {"user": user.display_name if user else None}
