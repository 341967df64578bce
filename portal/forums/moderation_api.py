"""JSON API v1 for moderators: one action on a post, a thread or an account."""

import marshmallow as ma
from flask_login import current_user, login_required
from flask_smorest import Blueprint

from portal.apiv1 import SECURITY, Id, Text, When
from portal.areas import services as areas
from portal.forums import moderation, notify

blp = Blueprint(
    "moderation_api",
    __name__,
    description="Moderator actions; each is written to the audit log.",
)


class PostAction(ma.Schema):
    action = ma.fields.String(
        required=True, validate=ma.validate.OneOf(moderation.POST_ACTIONS)
    )
    reason = Text(
        load_default="",
        validate=ma.validate.Length(max=moderation.REASON_MAX),
        metadata={"description": "Needed to hide or delete; the author sees it."},
    )


class ThreadAction(ma.Schema):
    action = ma.fields.String(
        required=True, validate=ma.validate.OneOf(moderation.THREAD_ACTIONS)
    )
    reason = Text(
        load_default="", validate=ma.validate.Length(max=moderation.REASON_MAX)
    )
    area = ma.fields.String(
        load_default=None, metadata={"description": "For move: the target's slug."}
    )


class UserAction(ma.Schema):
    action = ma.fields.String(
        required=True, validate=ma.validate.OneOf(moderation.USER_ACTIONS)
    )
    reason = Text(
        load_default="",
        validate=ma.validate.Length(max=moderation.REASON_MAX),
        metadata={"description": "Needed to silence or suspend; the member sees it."},
    )
    until = When(
        load_default=None,
        metadata={"description": "When a silence or suspension ends (with offset)."},
    )


class ActionResult(ma.Schema):
    log_id = Id(metadata={"description": "The audit log entry."})
    action = ma.fields.String()
    target_type = ma.fields.String()
    target_id = Id()
    before = ma.fields.Dict()
    after = ma.fields.Dict()


def _result(outcome) -> dict:
    notify.announce(outcome)
    entry = outcome.entry
    return {
        "log_id": entry.id,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "before": entry.before,
        "after": entry.after,
    }


_REFUSALS = (
    (403, "Not a moderator of this area (or, for accounts, of the site)."),
    (404, "No such target."),
    (409, "The action does not fit the target's state."),
)


def _documented(view):
    for status, text in _REFUSALS:
        view = blp.alt_response(status, response="DEFAULT_ERROR", description=text)(
            view
        )
    return blp.doc(security=SECURITY)(view)


@blp.post("/posts/<int:post_id>")
@blp.arguments(PostAction)
@blp.response(200, ActionResult)
@_documented
@login_required
def post_action(body, post_id):
    """Approve, hide, restore, delete or dismiss the flags of a post."""
    outcome = moderation.moderate_post(
        current_user, post_id, body["action"], body["reason"]
    )
    return _result(outcome)


@blp.post("/threads/<int:thread_id>")
@blp.arguments(ThreadAction)
@blp.response(200, ActionResult)
@_documented
@login_required
def thread_action(body, thread_id):
    """Pin, unpin, lock, unlock, move, unlist, relist, delete or restore a thread."""
    area = areas.get_area(body["area"]) if body["area"] else None
    outcome = moderation.moderate_thread(
        current_user, thread_id, body["action"], body["reason"], area
    )
    return _result(outcome)


@blp.post("/users/<int:user_id>")
@blp.arguments(UserAction)
@blp.response(200, ActionResult)
@_documented
@login_required
def user_action(body, user_id):
    """Silence or suspend an account until a time, or lift its restrictions."""
    outcome = moderation.moderate_user(
        current_user, user_id, body["action"], body["reason"], body["until"]
    )
    return _result(outcome)
