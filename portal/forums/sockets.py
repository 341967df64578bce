"""Inbound Socket.IO for /forums: a page joins its thread's room, if it may see it.

- client ``join`` ``{"thread": id}`` -> ack ``{"thread", "last_post"}``; refused with an
  ``error`` event when the thread is not the user's to see.
- server ``post_created``, ``post_updated``, ``post_hidden``, ``thread_changed``
  (see notify.py).

Socket events skip Flask's request pipeline, so each handler checks the user itself
(the session is the one the socket carried at connect).
"""

from flask_login import current_user

from portal.forums import services
from portal.forums.notify import room, staff_room
from portal.sockets import PortalNamespace


class ForumsNamespace(PortalNamespace):
    def on_join(self, data):
        thread = services.visible_thread(current_user, self.id_in(data, "thread"))
        if services.can_moderate(current_user, thread.area):
            self.join(staff_room(thread.id))
        self.join(room(thread.id))
        # The page may have missed posts made between its load and this join.
        return {"thread": thread.id, "last_post": services.last_post_id(thread)}
