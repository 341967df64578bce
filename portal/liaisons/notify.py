"""Outbound Socket.IO for /batches: each row's progress, room batch:<id>."""

from portal.extensions import socketio
from portal.liaisons.batches import row_state, rows_for_tickets

NAMESPACE = "/batches"


def room(batch_id: int) -> str:
    return f"batch:{batch_id}"


def batch_progress(rows) -> None:
    for row in rows:
        socketio.emit(
            "batch_progress",
            {"batch": row.batch_id, **row_state(row)},
            namespace=NAMESPACE,
            to=room(row.batch_id),
        )


def on_tickets_announced(_sender, payloads) -> None:
    """Tickets changed (sent, refused, given the city's id): their batch rows too."""
    batch_progress(rows_for_tickets([payload["id"] for payload in payloads]))
