"""JSON API v1 for tickets: file one, read one (send state, history), follow, "me
too"; an admin retry."""

import marshmallow as ma
from flask import request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY, Whole
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db, limiter
from portal.tickets import filing as filing_rules
from portal.tickets.filing import Filing
from portal.tickets.inputs import filer_key, filing_from_form, filing_limit, photo_url
from portal.tickets.models import Ticket
from portal.tickets.services import (
    may_see_sending,
    me_too,
    retry_ticket,
    set_following,
    visible_history,
)

blp = Blueprint("tickets_api", __name__, description="City tickets.")


class EventSchema(ma.Schema):
    at = ma.fields.DateTime()
    kind = ma.fields.String()
    source = ma.fields.String()
    old_status = ma.fields.String(allow_none=True)
    new_status = ma.fields.String(allow_none=True)
    notes = ma.fields.String(allow_none=True)


class TicketSchema(ma.Schema):
    id = Whole()
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
    attempts = Whole()
    last_error = ma.fields.String(
        allow_none=True,
        metadata={"description": "The city's reason; shown to the filer and admins."},
    )
    supporters = Whole(
        metadata={"description": "Residents who said they have this problem too."}
    )
    photos = ma.fields.List(
        ma.fields.String(), metadata={"description": "Photo URLs (JPEG, no EXIF)."}
    )
    events = ma.fields.List(ma.fields.Nested(EventSchema))


class FilingSchema(ma.Schema):
    service_code = ma.fields.String(required=True)
    description = ma.fields.String(load_default="")
    attributes = ma.fields.Dict(
        keys=ma.fields.String(),
        load_default=dict,
        metadata={"description": "Answers by attribute code (lists for multivalue)."},
    )
    lat = ma.fields.Float(allow_nan=False, allow_none=True, load_default=None)
    lon = ma.fields.Float(allow_nan=False, allow_none=True, load_default=None)
    device_lat = ma.fields.Float(allow_nan=False, allow_none=True, load_default=None)
    device_lon = ma.fields.Float(allow_nan=False, allow_none=True, load_default=None)
    address = ma.fields.String(load_default="")
    location_choice = ma.fields.String(
        load_default="", validate=ma.validate.OneOf(["", "address", "pin"])
    )
    not_duplicate = ma.fields.Boolean(load_default=False)


class FollowSchema(ma.Schema):
    follow = ma.fields.Boolean(load_default=True)


def _visible(ticket: Ticket) -> dict:
    # Raw values: the response schema serializes them once.
    fields = set(TicketSchema().fields) - {"photos"}
    data = {name: getattr(ticket, name) for name in fields}
    data["photos"] = [photo_url(photo.key) for photo in ticket.photos]
    data["events"] = visible_history(current_user, ticket)
    if not may_see_sending(current_user, ticket):
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


def _filing_from_request() -> Filing:
    if request.mimetype == "multipart/form-data":
        return filing_from_form(request.form, request.files)
    try:
        data = FilingSchema().load(request.get_json(silent=False) or {})
    except ma.ValidationError as error:
        fields = error.normalized_messages()
        raise ValidationFailed(
            _("Some of what you sent is not valid."),
            fields={k: " ".join(map(str, v)) for k, v in fields.items()},
        ) from None
    return Filing(**data)


@blp.post("")
@blp.response(202, TicketSchema, description="Stored, queued for the city.")
@blp.alt_response(
    409,
    response="DEFAULT_ERROR",
    description=(
        "`location_check`: the typed address is over 150 m from the pin or device; "
        "send again with `location_choice` (address|pin). `possible_duplicates`: "
        "open tickets of the service are near (ids in `fields.duplicates`); say "
        "me-too on one, or send again with `not_duplicate: true`."
    ),
)
@blp.alt_response(413, response="DEFAULT_ERROR", description="A photo over 10 MB.")
@blp.alt_response(422, response="DEFAULT_ERROR", description="A field is wrong.")
@blp.doc(
    security=SECURITY,
    requestBody={
        "content": {
            "application/json": {"schema": FilingSchema},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "description": "The same fields, answers as attribute[CODE], "
                    "and up to three `photo` files (JPEG, PNG or WebP).",
                }
            },
        }
    },
)
@login_required
@limiter.limit(filing_limit, key_func=filer_key)
def file_ticket():
    """File a ticket: stored `queued` at once and sent to the city by the worker."""
    ticket = filing_rules.file_ticket(current_user, _filing_from_request(), photo_url)
    return _visible(ticket)


@blp.post("/<int:ticket_id>/follow")
@blp.arguments(FollowSchema)
@blp.response(200, TicketSchema)
@blp.doc(security=SECURITY)
@login_required
def follow(body, ticket_id):
    """Follow a ticket (or stop, with `follow: false`)."""
    return _visible(set_following(current_user, ticket_id, body["follow"]))


@blp.post("/<int:ticket_id>/me-too")
@blp.response(200, TicketSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="Already counted.")
@blp.doc(security=SECURITY)
@login_required
def say_me_too(ticket_id):
    """Count the caller as having this problem too (once each); they follow it."""
    return _visible(me_too(current_user, ticket_id))
