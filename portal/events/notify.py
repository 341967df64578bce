"""Outbound Socket.IO for /events: live counts, room event:<id>."""

from portal.events.services import counts
from portal.extensions import socketio

NAMESPACE = "/events"


def room(event_id: int) -> str:
    return f"event:{event_id}"


def rsvp_changed(event) -> None:
    """``rsvp_changed`` {event, going, waitlisted, capacity, status} to its pages."""
    socketio.emit("rsvp_changed", counts(event), namespace=NAMESPACE, to=room(event.id))
