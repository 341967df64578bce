"""What moderators read: the review queue (flagged and held posts, with context) and
the audit log (for admins), filtered and paged."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.areas.models import Area
from portal.auth.services import has_role
from portal.bounds import clamp_moment, whole
from portal.errors import PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.forums.models import ModerationEntry, Post, PostFlag, Thread
from portal.forums.moderation import (
    POST_ACTIONS,
    THREAD_ACTIONS,
    USER_ACTIONS,
)
from portal.forums.services import PAGE_SIZE, Page, clamp_page, signed_in
from portal.forums.visibility import moderated_areas, visible_threads
from portal.i18n import city_zone

LOG_PAGE_SIZE = 50
TARGET_TYPES = ("post", "thread", "user")


@dataclass
class QueueItem:
    post: Post
    flags: list[PostFlag]
    reasons: Counter
    earlier: Post | None  # the post before it in its thread, for context


def moderated_area_ids(user) -> list[int] | None:
    """The areas a moderator covers, or None for every area.

    :raises PermissionDenied: not a moderator anywhere."""
    ids = moderated_areas(signed_in(user))
    if ids is None:
        return None
    if not ids:
        raise PermissionDenied(_("Only moderators can do this."))
    return sorted(ids)


def member_posts(user, member, limit: int = 20) -> list[Post]:
    """A member's latest posts, for a moderator's page about them: only in threads
    this moderator may see (an unlisted thread's title is its area's business).

    :raises PermissionDenied: not a moderator anywhere."""
    moderated_area_ids(user)
    return list(
        db.session.scalars(
            select(Post)
            .join(Thread, Thread.id == Post.thread_id)
            .where(Post.author_id == member.id, Post.kind == "user")
            .where(visible_threads(user))
            .order_by(Post.id.desc())
            .limit(limit)
        )
    )


def _queue_query(user):
    areas = moderated_area_ids(user)
    flagged = select(PostFlag.post_id).where(PostFlag.resolved_at.is_(None))
    query = (
        select(Post)
        .join(Thread, Thread.id == Post.thread_id)
        .where(Post.deleted_at.is_(None), Post.kind == "user")
        .where(Post.held.is_(True) | Post.id.in_(flagged))
    )
    if areas is not None:
        query = query.where(Thread.area_id.in_(areas))
    return query


def queue_count(user) -> int:
    """How many posts wait in this moderator's queue (0 for anyone else)."""
    try:
        query = _queue_query(user)
    except PermissionDenied:
        return 0
    return db.session.scalar(select(func.count()).select_from(query.subquery()))


def _earlier(post: Post) -> Post | None:
    return db.session.scalar(
        select(Post)
        .where(Post.thread_id == post.thread_id, Post.id < post.id)
        .order_by(Post.id.desc())
        .limit(1)
    )


def review_queue(user, page: int = 1) -> Page:
    """Posts with open flags or held for review, in the user's areas, oldest first,
    each with its open flags and the post before it.

    :raises PermissionDenied: not a moderator anywhere."""
    query = _queue_query(user)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page, pages = clamp_page(page, total)
    posts = list(
        db.session.scalars(
            query.order_by(Post.id).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        )
    )
    flags: dict[int, list[PostFlag]] = {post.id: [] for post in posts}
    for flag in db.session.scalars(
        select(PostFlag)
        .where(PostFlag.post_id.in_(list(flags)), PostFlag.resolved_at.is_(None))
        .order_by(PostFlag.created_at)
    ):
        flags[flag.post_id].append(flag)
    items = [
        QueueItem(
            post,
            flags[post.id],
            Counter(f.reason for f in flags[post.id]),
            _earlier(post),
        )
        for post in posts
    ]
    return Page(items, page, pages)


@dataclass
class LogFilter:
    actor: str = ""
    action: str = ""
    target_type: str = ""
    target_id: int | None = None
    area: Area | None = None
    since: datetime | None = None
    until: datetime | None = None


def parse_log_filter(args, get_area) -> LogFilter:
    """Query parameters to a filter. :raises ValidationFailed: naming the parameter."""
    actions = set(THREAD_ACTIONS + POST_ACTIONS + USER_ACTIONS)
    found = LogFilter(actor=(args.get("actor") or "").strip()[:80])
    found.action = (args.get("action") or "").strip()
    if found.action and found.action not in actions:
        raise ValidationFailed(_("There is no action by that name."), "action")
    found.target_type = (args.get("target_type") or "").strip()
    if found.target_type and found.target_type not in TARGET_TYPES:
        raise ValidationFailed(_("Choose post, thread or user."), "target_type")
    if args.get("target_id"):
        try:
            found.target_id = whole(args["target_id"])
        except ValueError:
            raise ValidationFailed(_("Give a number."), "target_id") from None
    if args.get("area"):
        found.area = get_area(args["area"])
    for name in ("since", "until"):
        value = (args.get(name) or "").strip()
        if value:
            setattr(found, name, _filter_moment(value, name))
    return found


def _filter_moment(text: str, name: str) -> datetime:
    """A date or time typed into the filter, in the city's zone unless it names an
    offset. Year 1 or 9999 means "from the start" or "to the end", so the moment is
    clamped rather than refused (converting it to UTC would overflow)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(_("Give a date like 2026-12-05."), name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=city_zone())
    return clamp_moment(moment)


def audit_log(user, wanted: LogFilter, page: int = 1) -> Page:
    """Moderator actions, newest first. :raises PermissionDenied: not an admin."""
    if not has_role(signed_in(user), "admin"):
        raise PermissionDenied(_("Only admins can read the moderation log."))
    query = select(ModerationEntry)
    if wanted.actor:
        query = query.where(
            func.lower(ModerationEntry.actor_name).contains(
                wanted.actor.lower(), autoescape=True
            )
        )
    if wanted.action:
        query = query.where(ModerationEntry.action == wanted.action)
    if wanted.target_type:
        query = query.where(ModerationEntry.target_type == wanted.target_type)
    if wanted.target_id is not None:
        query = query.where(ModerationEntry.target_id == wanted.target_id)
    if wanted.area is not None:
        query = query.where(ModerationEntry.area_id == wanted.area.id)
    if wanted.since is not None:
        query = query.where(ModerationEntry.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(ModerationEntry.at < wanted.until)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // LOG_PAGE_SIZE))
    page = min(max(1, page), pages)
    rows = db.session.scalars(
        query.order_by(ModerationEntry.id.desc())
        .offset((page - 1) * LOG_PAGE_SIZE)
        .limit(LOG_PAGE_SIZE)
    )
    return Page(list(rows), page, pages)
