"""Outbound Socket.IO events about tickets (sent after the commit)."""

from sqlalchemy import select

from portal.extensions import db, socketio
from portal.tickets.models import Ticket


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


def ticket_updated(ticket: Ticket) -> None:
    """Tell every map open on the ticket's area, and its own page, that it changed."""
    payload = ticket_payload(ticket)
    socketio.emit("ticket_updated", payload, namespace="/map", to=f"ticket:{ticket.id}")
    if ticket.area is not None:
        socketio.emit(
            "ticket_updated", payload, namespace="/map", to=f"area:{ticket.area.slug}"
        )


def tickets_changed(ticket_ids: list[int]) -> None:
    if not ticket_ids:
        return
    for ticket in db.session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids))):
        ticket_updated(ticket)
