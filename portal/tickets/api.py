"""JSON API v1 for tickets: a ticket, its send state and history; an admin retry."""

import marshmallow as ma
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY
from portal.auth.services import has_role
from portal.errors import NotFound
from portal.extensions import db
from portal.tickets.models import Ticket
from portal.tickets.services import retry_ticket

blp = Blueprint("tickets_api", __name__, description="City tickets.")


class EventSchema(ma.Schema):
    at = ma.fields.DateTime()
    kind = ma.fields.String()
    source = ma.fields.String()
    old_status = ma.fields.String(allow_none=True)
    new_status = ma.fields.String(allow_none=True)
    notes = ma.fields.String(allow_none=True)


class TicketSchema(ma.Schema):
    id = ma.fields.Integer()
    ref = ma.fields.String(allow_none=True)
    city_id = ma.fields.String(allow_none=True)
    service_code = ma.fields.String()
    service_name = ma.fields.String(allow_none=True)
    status = ma.fields.String()
    status_notes = ma.fields.String(allow_none=True)
    agency = ma.fields.String(allow_none=True)
    description = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    address = ma.fields.String(allow_none=True)
    requested_at = ma.fields.DateTime(allow_none=True)
    city_updated_at = ma.fields.DateTime(allow_none=True)
    expected_at = ma.fields.DateTime(allow_none=True)
    channel = ma.fields.String()
    send_state = ma.fields.String(
        allow_none=True, metadata={"description": "queued|sending|sent|rejected|failed"}
    )
    attempts = ma.fields.Integer()
    last_error = ma.fields.String(
        allow_none=True,
        metadata={"description": "The city's reason; shown to the filer and admins."},
    )
    events = ma.fields.List(ma.fields.Nested(EventSchema))


def _visible(ticket: Ticket) -> dict:
    # Raw values: the response schema serializes them once.
    data = {name: getattr(ticket, name) for name in TicketSchema().fields}
    mine = current_user.is_authenticated and ticket.filed_by_id == current_user.id
    if not (mine or has_role(current_user, "admin")):
        data["last_error"] = None  # a rejection can quote what the filer wrote
    return data


@blp.get("/<int:ticket_id>")
@blp.response(200, TicketSchema)
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such ticket.")
def get_ticket(ticket_id):
    """A ticket: the city's status, whether it reached the city, and its history."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(_("There is no ticket %(id)s.", id=ticket_id), "ticket")
    return _visible(ticket)


@blp.post("/<int:ticket_id>/retry")
@blp.response(200, TicketSchema)
@blp.alt_response(403, response="DEFAULT_ERROR", description="Not an admin.")
@blp.alt_response(
    422, response="DEFAULT_ERROR", description="The ticket is not failed."
)
@blp.doc(security=SECURITY)
@login_required
def retry(ticket_id):
    """Send a failed ticket again (admins); it is looked for at the city first."""
    return _visible(retry_ticket(current_user, ticket_id))
