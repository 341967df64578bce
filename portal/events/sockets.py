"""Inbound Socket.IO for /events: an event page joins event:<id> for live counts.

- client ``join`` ``{"event": id}`` -> ack the counts now (nothing missed between the
  page's load and the join); an ``error`` event for an unknown event.
- server ``rsvp_changed`` (see notify.py).
"""

from flask_babel import gettext as _

from portal.errors import ValidationFailed
from portal.events.notify import room
from portal.events.services import counts, get_event
from portal.sockets import PortalNamespace


class EventsNamespace(PortalNamespace):
    def on_join(self, data):
        event_id = data.get("event") if isinstance(data, dict) else None
        if not isinstance(event_id, int) or isinstance(event_id, bool):
            raise ValidationFailed(_("Give the event's id."), "event")
        event = get_event(event_id)  # events are public
        self.join(room(event.id))
        return counts(event)
