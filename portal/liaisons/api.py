"""JSON API v1 for captains' and liaisons' scripts: meetings, minutes, drafts, and
batches (JSON rows or a CSV body) with per-row results."""

import marshmallow as ma
from flask import request
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY, Id, Text, When, Whole
from portal.areas import services as areas
from portal.errors import ValidationFailed
from portal.extensions import limiter
from portal.liaisons import batches, bulk, services

blp = Blueprint("liaisons_api", __name__, description="Meetings and bulk filing.")


class NewMeeting(ma.Schema):
    area = ma.fields.String(required=True, metadata={"description": "Area slug."})
    title = Text(required=True, validate=ma.validate.Length(max=services.TITLE_MAX))
    starts_at = When(required=True)
    place = Text(required=True, validate=ma.validate.Length(max=services.PLACE_MAX))
    agenda = ma.fields.List(
        Text(validate=ma.validate.Length(max=services.ITEM_MAX)),
        load_default=list,
        validate=ma.validate.Length(max=services.AGENDA_ITEMS_MAX),
    )


class Minutes(ma.Schema):
    minutes = Text(required=True, validate=ma.validate.Length(max=services.MINUTES_MAX))
    attendees = Whole(
        required=True, strict=True, validate=ma.validate.Range(min=0, max=100_000)
    )


class DraftSchema(ma.Schema):
    id = Whole()
    source_text = ma.fields.String()
    service_code = ma.fields.String(allow_none=True)
    address = ma.fields.String(allow_none=True)
    lat = ma.fields.Float(allow_none=True)
    lon = ma.fields.Float(allow_none=True)
    description = ma.fields.String()


class MeetingSchema(ma.Schema):
    id = Whole()
    area = ma.fields.Function(lambda meeting: meeting.area.slug)
    title = ma.fields.String()
    starts_at = ma.fields.DateTime()
    place = ma.fields.String()
    agenda = ma.fields.List(ma.fields.String())
    minutes_html = ma.fields.String(allow_none=True)
    attendees = Whole(allow_none=True)


class RowState(ma.Schema):
    row = Whole()
    id = Whole()
    state = ma.fields.String(
        metadata={
            "description": "invalid | me_too | queued | sending | sent | rejected | "
            "failed"
        }
    )
    ticket = Whole(allow_none=True)
    city_id = ma.fields.String(allow_none=True)
    message = ma.fields.String(allow_none=True)
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        metadata={"description": "Per column, for invalid rows."},
    )


class BatchSchema(ma.Schema):
    id = Whole()
    meeting = Whole(allow_none=True)
    source = ma.fields.String()
    replayed = ma.fields.Boolean(
        metadata={"description": "The same batch was sent before: nothing new filed."}
    )
    summary = ma.fields.Dict(keys=ma.fields.String(), values=Whole())
    rows = ma.fields.List(ma.fields.Nested(RowState))


class BatchQuery(ma.Schema):
    meeting = Id(load_default=None)


def batch_view(batch, replayed: bool = False) -> dict:
    return {
        "id": batch.id,
        "meeting": batch.meeting_id,
        "source": batch.source,
        "replayed": replayed,
        "summary": batches.summary(batch),
        "rows": [batches.row_state(row) for row in batch.rows],
    }


@blp.post("/meetings")
@blp.arguments(NewMeeting)
@blp.response(201, MeetingSchema)
@blp.alt_response(403, response="DEFAULT_ERROR", description="Not an organizer.")
@blp.doc(security=SECURITY)
@login_required
def create_meeting(body):
    """Create a meeting for one of your areas (captains and liaisons)."""
    return services.create_meeting(
        current_user,
        areas.get_area(body["area"]),
        body["title"],
        body["starts_at"],
        body["place"],
        body["agenda"],
    )


@blp.put("/meetings/<int:meeting_id>/minutes")
@blp.arguments(Minutes)
@blp.response(200, MeetingSchema)
@blp.doc(security=SECURITY)
@login_required
def put_minutes(body, meeting_id):
    """Publish (or replace) the minutes, Markdown, and the number who came."""
    return services.publish_minutes(
        current_user, meeting_id, body["minutes"], body["attendees"]
    )


@blp.post("/meetings/<int:meeting_id>/drafts")
@blp.response(200, DraftSchema(many=True))
@blp.doc(security=SECURITY)
@login_required
def make_drafts(meeting_id):
    """Draft tickets from the agenda's and minutes' items (service and place
    suggested); nothing is sent until filed as a batch."""
    return services.make_drafts(current_user, meeting_id)


def _rows_from_request() -> tuple[list[dict], str]:
    if request.mimetype == "text/csv":
        return bulk.parse_csv(request.get_data(cache=False)), "csv"
    body = request.get_json(silent=True)
    rows = body.get("rows") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed(
            _('Send {"rows": [{...}, ...]} as JSON, or a CSV body.'), "rows"
        )
    return rows, "api"


@blp.post("/batches")
@blp.arguments(BatchQuery, location="query")
@blp.response(202, BatchSchema)
@blp.alt_response(200, schema=BatchSchema, description="Sent before: the same batch.")
@blp.alt_response(403, response="DEFAULT_ERROR", description="Not an organizer.")
@blp.doc(
    security=SECURITY,
    parameters=[
        {
            "in": "header",
            "name": "Idempotency-Key",
            "schema": {"type": "string"},
            "description": "Retries with the same key return the first batch.",
        },
        {
            "in": "query",
            "name": "meeting",
            "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
            "description": "The meeting the rows were raised at (filed on its behalf).",
        },
    ],
    requestBody={
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "rows": {"type": "array", "items": {"type": "object"}}
                    },
                }
            },
            "text/csv": {"schema": {"type": "string"}},
        }
    },
)
@login_required
@limiter.limit("30 per hour", key_func=lambda: f"batch:{current_user.id}")
def create_batch(query):
    """File up to 500 rows (JSON or CSV); answers each row's result at once, and
    the tickets are sent by the worker (poll GET /batches/{id})."""
    rows, source = _rows_from_request()
    meeting = services.get_meeting(query["meeting"]) if query["meeting"] else None
    batch, replayed = bulk.file_batch(
        current_user,
        rows,
        source,
        meeting,
        request.headers.get("Idempotency-Key", "")[:200],
    )
    return batch_view(batch, replayed), 200 if replayed else 202


@blp.get("/batches/<int:batch_id>")
@blp.response(200, BatchSchema)
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such batch.")
@blp.doc(security=SECURITY)
@login_required
def get_batch(batch_id):
    """A batch and each row's state now."""
    return batch_view(batches.get_batch(current_user, batch_id))
