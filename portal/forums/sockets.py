"""Inbound Socket.IO for /forums: a page joins its thread's room, if it may see it.

- client ``join`` ``{"thread": id}`` -> ack ``{"thread", "last_post"}``; refused with an
  ``error`` event when the thread is not the user's to see.
- server ``post_created``, ``post_updated``, ``post_hidden``, ``thread_changed``
  (see notify.py).

Socket events skip Flask's request pipeline, so each handler checks the user itself
(the session is the one the socket carried at connect). Rights are judged again by
notify.recheck_rooms whenever the thread changes.
"""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from portal.errors import NotFound
from portal.extensions import db
from portal.forums import notify, services
from portal.sockets import PortalNamespace


class ForumsNamespace(PortalNamespace):
    def on_join(self, data):
        thread_id = self.id_in(data, "thread")
        thread = services.visible_thread(current_user, thread_id)
        if not self.join(notify.room(thread.id)):
            return None
        # A moderator may have moved or unlisted the thread, and judged its rooms,
        # between the check above and the join: read it again and judge this one.
        db.session.refresh(thread)
        if not notify.settle(request.sid, current_user, thread):
            raise NotFound(_("There is no thread %(id)s.", id=thread_id), "thread")
        # The page may have missed posts made between its load and this join.
        return {"thread": thread.id, "last_post": services.last_post_id(thread)}
