"""JSON API v1 for the forums: flags on posts (threads and moderation follow)."""

import marshmallow as ma
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY, Text
from portal.forums import flags, notify
from portal.forums.models import FLAG_REASONS

blp = Blueprint("forums_api", __name__, description="Neighborhood forums.")


class FlagSchema(ma.Schema):
    reason = ma.fields.String(required=True, validate=ma.validate.OneOf(FLAG_REASONS))
    text = Text(load_default="", validate=ma.validate.Length(max=flags.TEXT_MAX))


class FlagResult(ma.Schema):
    post = ma.fields.Integer()
    held = ma.fields.Boolean(
        metadata={"description": "The post is now hidden until a moderator looks."}
    )


@blp.post("/posts/<int:post_id>/flags")
@blp.arguments(FlagSchema)
@blp.response(201, FlagResult)
@blp.alt_response(409, response="DEFAULT_ERROR", description="Own post, or flagged.")
@blp.alt_response(404, response="DEFAULT_ERROR", description="No such post.")
@blp.doc(security=SECURITY)
@login_required
def flag_post(body, post_id):
    """Flag a post once, with a reason; enough flags hold it for review."""
    post, held = flags.flag_post(current_user, post_id, body["reason"], body["text"])
    if held:
        notify.post_hidden(post)
    return {"post": post.id, "held": held}
