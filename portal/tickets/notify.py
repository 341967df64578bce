"""Outbound Socket.IO events about tickets (sent after the commit)."""

from blinker import signal
from sqlalchemy import select

from portal.extensions import db, socketio
from portal.tickets.models import Ticket

tickets_announced = signal("tickets-announced")


def ticket_payload(ticket: Ticket) -> dict:
    return {
        "id": ticket.id,
        "city_id": ticket.city_id,
        "status": ticket.status,
        "status_notes": ticket.status_notes,
        "send_state": ticket.send_state,
        "service_code": ticket.service_code,
        "lat": ticket.lat,
        "lon": ticket.lon,
        "updated": ticket.city_updated_at.isoformat()
        if ticket.city_updated_at
        else None,
    }


def prepare(ticket: Ticket) -> tuple[dict, list[str]]:
    """The event and its rooms, taken while the ticket is loaded (before a commit)."""
    rooms = [f"ticket:{ticket.id}"]
    if ticket.area is not None:
        rooms.append(f"area:{ticket.area.slug}")
    return ticket_payload(ticket), rooms


def send(prepared: list[tuple[dict, list[str]]]) -> None:
    """``ticket_updated`` to every map showing the ticket's area and to its page."""
    for payload, rooms in prepared:
        for room in rooms:
            socketio.emit("ticket_updated", payload, namespace="/map", to=room)
    # Other domains showing tickets (a liaison's batch page) follow from here.
    tickets_announced.send(None, payloads=[payload for payload, _ in prepared])


def ticket_updated(ticket: Ticket) -> None:
    send([prepare(ticket)])


def tickets_changed(ticket_ids: list[int]) -> None:
    if not ticket_ids:
        return
    tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))
    send([prepare(ticket) for ticket in tickets])
