"""Inbound Socket.IO for /events: an event page joins event:<id> for live counts.

- client ``join`` ``{"event": id}`` -> ack the counts now (nothing missed between the
  page's load and the join); an ``error`` event for an unknown event.
- server ``rsvp_changed`` (see notify.py).
"""

from portal.events.notify import room
from portal.events.services import counts, get_event
from portal.sockets import PortalNamespace


class EventsNamespace(PortalNamespace):
    def on_join(self, data):
        event = get_event(self.id_in(data, "event"))  # events are public
        self.join(room(event.id))
        return counts(event)
