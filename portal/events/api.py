"""JSON API v1 for events: list with filters, organize one, answer for oneself."""

import marshmallow as ma
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY, Id, Text, When, Whole
from portal.areas import services as areas
from portal.events import cleanups, notify, services
from portal.events.models import KINDS
from portal.extensions import limiter

blp = Blueprint("events_api", __name__, description="Neighborhood events.")


class EventQuery(ma.Schema):
    area = ma.fields.String(load_default=None)
    kind = ma.fields.String(load_default=None, validate=ma.validate.OneOf(KINDS))
    since = When(clamp=True, load_default=None, data_key="from")
    until = When(clamp=True, load_default=None, data_key="to")


class NewEvent(ma.Schema):
    kind = ma.fields.String(required=True, validate=ma.validate.OneOf(KINDS))
    title = Text(required=True, validate=ma.validate.Length(max=services.TITLE_MAX))
    starts_at = When(required=True)
    ends_at = When(required=True)
    place = Text(load_default="", validate=ma.validate.Length(max=services.PLACE_MAX))
    lat = ma.fields.Float(load_default=None, allow_nan=False)
    lon = ma.fields.Float(load_default=None, allow_nan=False)
    description = Text(
        load_default="", validate=ma.validate.Length(max=services.DESCRIPTION_MAX)
    )
    capacity = Whole(
        load_default=None,
        strict=True,
        validate=ma.validate.Range(min=1, max=services.CAPACITY_MAX),
    )
    tickets = ma.fields.List(
        Id(),
        load_default=list,
        validate=ma.validate.Length(max=cleanups.MAX_TICKETS),
        metadata={"description": "Open dumping or vacant-lot tickets a cleanup fixes."},
    )


class RsvpBody(ma.Schema):
    going = ma.fields.Boolean(required=True)


class EventItem(ma.Schema):
    id = Whole()
    kind = ma.fields.String()
    title = ma.fields.String()
    area = ma.fields.Function(lambda event: event.area.slug)
    place = ma.fields.String()
    lat = ma.fields.Float()
    lon = ma.fields.Float()
    starts_at = ma.fields.DateTime()
    ends_at = ma.fields.DateTime()
    status = ma.fields.String()
    capacity = Whole(allow_none=True)
    going = Whole(attribute="going_count")
    description_html = ma.fields.String()
    organizer = ma.fields.Function(
        lambda event: event.organizer.display_name if event.organizer else None
    )


class EventList(ma.Schema):
    events = ma.fields.List(ma.fields.Nested(EventItem))


class RsvpResult(ma.Schema):
    event = Whole()
    state = ma.fields.String(metadata={"description": "going | waitlisted | not_going"})
    position = Whole(
        allow_none=True, metadata={"description": "Place in the waitlist, from 1."}
    )
    going = Whole()
    waitlisted = Whole()
    capacity = Whole(allow_none=True)


@blp.get("")
@blp.arguments(EventQuery, location="query")
@blp.response(200, EventList)
def list_events(query):
    """Events from now (or ``from``) to ``to``, soonest first, at most 200."""
    area = areas.get_area(query["area"]) if query["area"] else None
    return {
        "events": services.list_events(
            area, query["kind"], query["since"], query["until"]
        )
    }


@blp.post("")
@blp.arguments(NewEvent)
@blp.response(201, EventItem)
@blp.doc(security=SECURITY)
@login_required
@limiter.limit("20 per hour", key_func=lambda: f"event:{current_user.id}")
def create_event(body):
    """Organize an event; a cleanup may list the tickets it will fix."""
    links = cleanups.links_for(body.pop("tickets"))
    return services.create_event(current_user, services.EventInput(**body), links)


@blp.post("/<int:event_id>/rsvp")
@blp.arguments(RsvpBody)
@blp.response(200, RsvpResult)
@blp.alt_response(409, response="DEFAULT_ERROR", description="Cancelled or over.")
@blp.doc(security=SECURITY)
@login_required
def rsvp(body, event_id):
    """Going or not, for yourself. A full event puts you on its waitlist; a seat
    that frees goes to the first in line."""
    answer, _promoted = services.rsvp(current_user, event_id, body["going"])
    notify.rsvp_changed(answer.event)
    position = (
        services.waitlist_position(answer) if answer.state == "waitlisted" else None
    )
    return {
        **services.counts(answer.event),
        "state": answer.state,
        "position": position,
    }
