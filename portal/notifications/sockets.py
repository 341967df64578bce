"""Inbound Socket.IO for /notifications: a page's bell.

- connect: a signed-in socket joins ``user:<id>`` (and its login's room, so signing
  out closes it), as every portal namespace does; an anonymous one joins nothing.
- client ``unread`` -> ack ``{"unread": n}``: the count now (what the page missed
  between its load and the connection); an ``error`` event when not signed in.
- server ``notification`` ``{"unread": n, "latest": {id, kind, item: {type, id},
  text, url, created_at, read} | null}`` (see notify.py): ``latest`` is null when
  only the count changed (marked read in another tab).
"""

from portal.notifications import services
from portal.sockets import PortalNamespace


class NotificationsNamespace(PortalNamespace):
    def on_unread(self):
        """Ack ``{"unread": n}`` for the signed-in user."""
        return {"unread": services.unread_count(self.require_login())}
