"""JSON API v1 for one's own notifications: list (paged, unread filter), the unread
count, mark read, settings, and the areas and places one watches."""

import marshmallow as ma
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY, Id, Text, Whole
from portal.notifications import services, settings, watches
from portal.notifications.kinds import CHANNELS, GROUPS
from portal.notifications.models import DIGEST_FREQUENCIES
from portal.notifications.notify import payload

blp = Blueprint(
    "notifications_api", __name__, description="The caller's own notifications."
)


class NotifiedItemSchema(ma.Schema):
    type = ma.fields.String(metadata={"example": "ticket"})
    id = Whole()


class NotificationSchema(ma.Schema):
    id = Whole()
    kind = ma.fields.String(metadata={"example": "ticket_status"})
    item = ma.fields.Nested(NotifiedItemSchema)
    text = ma.fields.String(metadata={"description": "The sentence, in words."})
    url = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    read = ma.fields.Boolean()


class NotificationQuery(ma.Schema):
    unread = ma.fields.Boolean(load_default=False)
    before = Id(
        load_default=None,
        metadata={"description": "The `next` of the previous page."},
    )
    limit = Whole(load_default=50, validate=ma.validate.Range(min=1, max=100))


class NotificationPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NotificationSchema))
    next = Whole(allow_none=True, metadata={"description": "Pass as `before`."})
    unread = Whole()


class UnreadSchema(ma.Schema):
    unread = Whole()


class MarkedReadSchema(ma.Schema):
    marked = Whole()
    unread = Whole()


class ChannelChoiceSchema(ma.Schema):
    in_app = ma.fields.Boolean()
    email_now = ma.fields.Boolean()
    digest = ma.fields.Boolean()


class NotificationSettingsSchema(ma.Schema):
    groups = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Nested(ChannelChoiceSchema),
        metadata={"description": "By group: " + ", ".join(GROUPS)},
    )
    digest_frequency = ma.fields.String(validate=ma.validate.OneOf(DIGEST_FREQUENCIES))
    digest_hour = Whole(validate=ma.validate.Range(min=0, max=23))
    digest_weekday = Whole(
        validate=ma.validate.Range(min=0, max=6),
        metadata={"description": "0 is Monday; for a weekly digest."},
    )


class NotificationSettingsBody(ma.Schema):
    groups = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw()),
        load_default=dict,
        metadata={"description": "Channels (" + ", ".join(CHANNELS) + ") by group."},
    )
    digest_frequency = ma.fields.String(load_default=None)
    digest_hour = ma.fields.Raw(load_default=None)
    digest_weekday = ma.fields.Raw(load_default=None)


class PlaceWatchSchema(ma.Schema):
    id = Whole()
    kind = ma.fields.String(metadata={"description": "area|point|thread|event"})
    item_id = Whole(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    radius = Whole(attribute="radius_m", allow_none=True)
    label = ma.fields.String(allow_none=True)


class PlaceWatchBody(ma.Schema):
    kind = ma.fields.String(
        required=True, validate=ma.validate.OneOf(["area", "point"])
    )
    area = Text(load_default="", metadata={"description": "An area's slug (area)."})
    lat = ma.fields.Float(load_default=None, allow_nan=False)
    lon = ma.fields.Float(load_default=None, allow_nan=False)
    radius = ma.fields.Raw(load_default=None, metadata={"description": "100 to 2000 m"})
    label = Text(load_default="")


def _item(row) -> dict:
    # The socket's payload, with the raw time: the schema writes it once.
    return {**payload(row), "created_at": row.created_at}


def _settings(chosen: dict) -> dict:
    digest = chosen["digest"]
    return {
        "groups": chosen["groups"],
        "digest_frequency": digest["frequency"],
        "digest_hour": digest["hour"],
        "digest_weekday": digest["weekday"],
    }


@blp.get("")
@login_required  # before the body's checks: 401 first
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationPageSchema)
@blp.doc(security=SECURITY)
def list_notifications(query):
    """The caller's notifications, newest first (those about items they may no
    longer see left out)."""
    rows, following = services.recent(
        current_user,
        limit=query["limit"],
        before=query["before"],
        unread_only=query["unread"],
    )
    return {
        "items": [_item(row) for row in rows],
        "next": following,
        "unread": services.unread_count(current_user),
    }


@blp.get("/unread")
@blp.response(200, UnreadSchema)
@blp.doc(security=SECURITY)
@login_required
def unread():
    """How many are unread: the bell's number."""
    return {"unread": services.unread_count(current_user)}


@blp.post("/<int:notification_id>/read")
@blp.response(200, NotificationSchema)
@blp.doc(security=SECURITY)
@login_required
def mark_read(notification_id):
    """Mark one read (again: no change)."""
    return _item(services.mark_read(current_user, notification_id))


@blp.post("/read-all")
@blp.response(200, MarkedReadSchema)
@blp.doc(security=SECURITY)
@login_required
def mark_all_read():
    """Mark every unread notification read."""
    marked = services.mark_all_read(current_user)
    return {"marked": marked, "unread": services.unread_count(current_user)}


@blp.get("/settings")
@blp.response(200, NotificationSettingsSchema)
@blp.doc(security=SECURITY)
@login_required
def get_settings():
    """What the caller hears of, per group and channel, and when their digest goes."""
    return _settings(settings.settings_of(current_user))


@blp.put("/settings")
@login_required  # before the body's checks: 401 first
@blp.arguments(NotificationSettingsBody)
@blp.response(200, NotificationSettingsSchema)
@blp.alt_response(
    422,
    response="DEFAULT_ERROR",
    description="An unknown group or channel (`fields` names `group` or "
    "`group.channel`), or a digest setting out of range.",
)
@blp.doc(security=SECURITY)
def put_settings(body):
    """Change some settings; what is not sent keeps its value."""
    digest = {
        name: body[f"digest_{name}"]
        for name in ("frequency", "hour", "weekday")
        if body[f"digest_{name}"] is not None
    }
    return _settings(settings.save_settings(current_user, body["groups"], digest))


@blp.get("/watches")
@blp.response(200, PlaceWatchSchema(many=True))
@blp.doc(security=SECURITY)
@login_required
def list_watches():
    """The areas, circles, threads and events the caller watches (an area they act
    for as captain or liaison is watched without a row, unless turned off)."""
    return watches.watches_of(current_user)


@blp.post("/watches")
@login_required  # before the body's checks: 401 first
@blp.arguments(PlaceWatchBody)
@blp.response(201, PlaceWatchSchema)
@blp.alt_response(409, response="DEFAULT_ERROR", description="Already 20 circles.")
@blp.doc(security=SECURITY)
def add_watch(body):
    """Watch an area (`kind: area`, `area`: slug) or a circle of 100 m to 2 km
    around a point (`kind: point`, `lat`, `lon`, `radius`, `label`). Threads and
    events are followed through their own operations."""
    if body["kind"] == "area":
        area = watches.watch_area(current_user, body["area"])
        mine = watches.watches_of(current_user)
        return next(w for w in mine if w.kind == "area" and w.item_id == area.id)
    return watches.watch_point(
        current_user, body["lat"], body["lon"], body["radius"], body["label"]
    )


@blp.delete("/watches/<int:watch_id>")
@blp.response(204)
@blp.doc(security=SECURITY)
@login_required
def delete_watch(watch_id):
    """Stop one watch."""
    watches.remove_watch(current_user, watch_id)
