"""Flags: any signed-in resident flags a post once, with a reason; at the threshold
the post is held (hidden) until a moderator looks at it."""

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.dbtypes import utcnow
from portal.errors import Conflict, NotFound, ValidationFailed
from portal.extensions import db
from portal.forums import hearing
from portal.forums.models import FLAG_REASONS, Post, PostFlag
from portal.forums.services import signed_in, visible_thread
from portal.forums.visibility import may_read_post

TEXT_MAX = 500


def open_flags(post: Post) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(PostFlag)
        .where(PostFlag.post_id == post.id, PostFlag.resolved_at.is_(None))
    )


def flag_post(user, post_id: int, reason: str, text: str = "") -> tuple[Post, bool]:
    """Flag a post; answers (post, held_now).

    :raises ValidationFailed: an unknown reason, or "other" without words.
    :raises Conflict: one's own post, or flagged by this user already.
    :raises NotFound: no such post, or not the user's to read.
    """
    user = signed_in(user)
    post = db.session.get(Post, post_id)
    if post is None or post.deleted_at is not None or post.kind != "user":
        raise NotFound(_("There is no post %(id)s.", id=post_id), "post")
    visible_thread(user, post.thread_id)
    if not may_read_post(user, post):  # one flags what one reads
        raise NotFound(_("There is no post %(id)s.", id=post_id), "post")
    if reason not in FLAG_REASONS:
        raise ValidationFailed(_("Choose a reason."), "reason")
    text = (text or "").strip()
    if reason == "other" and not text:
        raise ValidationFailed(_("Say what is wrong."), "text")
    if len(text) > TEXT_MAX:
        raise ValidationFailed(_("Use at most 500 characters."), "text")
    if post.author_id == user.id:
        raise Conflict(_("You cannot flag your own post."), "post")
    if db.session.get(PostFlag, (post.id, user.id)) is not None:
        raise Conflict(_("You have flagged this post already."), "post")
    db.session.add(
        PostFlag(
            post=post, user=user, reason=reason, text=text or None, created_at=utcnow()
        )
    )
    try:
        db.session.flush()
    except IntegrityError:  # the same flag, sent twice at once
        db.session.rollback()
        raise Conflict(_("You have flagged this post already."), "post") from None
    held_now = False
    threshold = current_app.config["FORUM_FLAG_THRESHOLD"]
    if post.hidden_at is None and open_flags(post) >= threshold:
        post.hidden_at, post.held = utcnow(), True
        post.hidden_reason = _("Held for review after reports from neighbors.")
        held_now = True
        hearing.held_by_flags(post)
    db.session.commit()
    return post, held_now
