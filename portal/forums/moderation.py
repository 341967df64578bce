"""Moderator actions on threads, posts and users; each lands in the audit log with
who, when, why, and the state before and after.

Area moderators act on the threads and posts of their areas; site moderators (a
grant without an area) and admins everywhere. Sanctions on accounts (silence,
suspend) reach across areas, so they need a site moderator; only an admin may
sanction a moderator or an admin.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import update

from portal.areas.models import Area
from portal.auth.models import User
from portal.auth.services import end_all_sessions, has_role
from portal.bounds import storable_moment
from portal.dbtypes import utcnow
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.forums import hearing
from portal.forums.flags import open_flags
from portal.forums.models import ModerationEntry, Post, PostFlag, Thread
from portal.forums.services import signed_in
from portal.forums.visibility import can_moderate, is_site_moderator

THREAD_ACTIONS = (
    "pin",
    "unpin",
    "lock",
    "unlock",
    "move",
    "unlist",
    "relist",
    "delete",
    "restore",
)
POST_ACTIONS = ("approve", "hide", "restore", "delete", "dismiss")
USER_ACTIONS = ("silence", "suspend", "restore")
NEEDS_REASON = {"hide", "delete", "silence", "suspend"}
REASON_MAX = 500
LONGEST_SANCTION = timedelta(days=3660)
BULK_MAX = 100


@dataclass
class Outcome:
    """What an action did: the target, its log entry, and what pages must be told."""

    target: object
    entry: ModerationEntry
    announce: list[str] = field(default_factory=list)


def _reason(action: str, reason: str | None) -> str | None:
    reason = " ".join((reason or "").split())
    if action in NEEDS_REASON and not reason:
        raise ValidationFailed(
            _("Say why: the author and the log will see it."), "reason"
        )
    if len(reason) > REASON_MAX:
        raise ValidationFailed(_("Use at most 500 characters."), "reason")
    return reason or None


def _check_action(action: str, allowed: tuple[str, ...]) -> None:
    if action not in allowed:
        raise ValidationFailed(
            _("Choose one of: %(actions)s.", actions=", ".join(allowed)), "action"
        )


def _moderator(user, area: Area | None):
    user = signed_in(user)
    if not can_moderate(user, area):
        raise PermissionDenied(_("Only a moderator of this area can do this."))
    return user


def _log(actor, action, target_type, target_id, area_id, reason, before, after):
    entry = ModerationEntry(
        at=utcnow(),
        actor=actor,
        actor_name=actor.display_name,
        action=action,
        target_type=target_type,
        target_id=target_id,
        area_id=area_id,
        reason=reason,
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry


# --- threads ---


def thread_state(thread: Thread) -> dict:
    return {
        "pinned": thread.pinned,
        "locked": thread.locked,
        "unlisted": thread.unlisted,
        "deleted": thread.deleted_at is not None,
        "area": thread.area.slug,
    }


_THREAD_FLAGS = {
    "pin": ("pinned", True),
    "unpin": ("pinned", False),
    "lock": ("locked", True),
    "unlock": ("locked", False),
    "unlist": ("unlisted", True),
    "relist": ("unlisted", False),
}


def moderate_thread(
    user, thread_id: int, action: str, reason: str = "", area: Area | None = None
) -> Outcome:
    """Pin, unpin, lock, unlock, move (to ``area``), unlist, relist, delete or restore.

    :raises PermissionDenied: not a moderator of the thread's area (or the target's).
    :raises Conflict: the thread is already in that state.
    """
    _check_action(action, THREAD_ACTIONS)
    thread = db.session.get(Thread, thread_id)
    if thread is None:
        raise NotFound(_("There is no thread %(id)s.", id=thread_id), "thread")
    user = _moderator(user, thread.area)
    reason = _reason(action, reason)
    before = thread_state(thread)
    if action in _THREAD_FLAGS:
        name, value = _THREAD_FLAGS[action]
        setattr(thread, name, value)
    elif action == "move":
        if area is None:
            raise ValidationFailed(_("Choose the forum to move it to."), "area")
        if not can_moderate(user, area):
            raise PermissionDenied(_("Only a moderator of that area can move here."))
        thread.area = area
    elif action == "delete":
        thread.deleted_at = thread.deleted_at or utcnow()
    else:  # restore
        thread.deleted_at = None
    after = thread_state(thread)
    if after == before:
        raise Conflict(_("The thread is like that already."), "action")
    entry = _log(
        user, action, "thread", thread.id, thread.area_id, reason, before, after
    )
    hearing.decided(entry, thread)
    db.session.commit()
    return Outcome(thread, entry, ["thread_changed"])


# --- posts ---


def post_state(post: Post) -> dict:
    return {
        "hidden": post.hidden_at is not None,
        "held": post.held,
        "deleted": post.deleted_at is not None,
        "reason": post.hidden_reason,
        "open_flags": open_flags(post),
    }


def _resolve_flags(post: Post) -> None:
    db.session.execute(
        update(PostFlag)
        .where(PostFlag.post_id == post.id, PostFlag.resolved_at.is_(None))
        .values(resolved_at=utcnow())
    )


def _apply_to_post(post: Post, action: str, reason: str | None) -> list[str]:
    """Change the post; answers the live events pages need."""
    if action == "dismiss":
        if post.held:
            raise Conflict(
                _("This post is held: approve, hide or delete it."), "action"
            )
        if not open_flags(post):
            raise Conflict(_("This post has no open flags."), "action")
        _resolve_flags(post)
        return []
    if action in ("approve", "restore"):
        if post.deleted_at is not None:
            raise Conflict(_("A deleted post cannot come back."), "action")
        was_hidden = post.hidden_at is not None
        if action == "restore" and not was_hidden:
            raise Conflict(_("This post is not hidden."), "action")
        if (
            action == "approve"
            and not (was_hidden and post.held)
            and not open_flags(post)
        ):
            raise Conflict(_("Nothing waits for a decision on this post."), "action")
        post.hidden_at, post.hidden_reason, post.held = None, None, False
        _resolve_flags(post)
        return ["post_updated"] if was_hidden else []
    if post.deleted_at is not None:
        raise Conflict(_("This post is deleted already."), "action")
    if action == "hide":
        if post.hidden_at is not None and not post.held:
            raise Conflict(_("This post is hidden already."), "action")
        post.hidden_at, post.held, post.hidden_reason = utcnow(), False, reason
    else:  # delete
        post.deleted_at, post.held = utcnow(), False
        post.hidden_reason = reason
    _resolve_flags(post)
    return ["post_hidden"]


def _moderated_post(user, post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None or post.kind != "user":
        raise NotFound(_("There is no post %(id)s.", id=post_id), "post")
    _moderator(user, post.thread.area)
    return post


def moderate_post(user, post_id: int, action: str, reason: str = "") -> Outcome:
    """Approve, hide, restore, delete (with a reason) or dismiss its flags.

    :raises PermissionDenied: not a moderator of the post's area.
    :raises Conflict: the action does not fit the post's state.
    """
    return moderate_posts(user, [post_id], action, reason)[0]


def moderate_posts(user, post_ids: list[int], action: str, reason: str = ""):
    """One decision for many posts, all or none (the review queue's bulk form)."""
    _check_action(action, POST_ACTIONS)
    if not post_ids:
        raise ValidationFailed(_("Choose at least one post."), "posts")
    if len(post_ids) > BULK_MAX:
        raise ValidationFailed(_("Choose at most 100 posts at once."), "posts")
    signed_in(user)
    # Every post is checked for permission before anything else is said about them.
    posts = [_moderated_post(user, post_id) for post_id in dict.fromkeys(post_ids)]
    reason = _reason(action, reason)
    outcomes = []
    for post in posts:
        before = post_state(post)
        announce = _apply_to_post(post, action, reason)
        db.session.flush()
        entry = _log(
            user,
            action,
            "post",
            post.id,
            post.thread.area_id,
            reason,
            before,
            post_state(post),
        )
        hearing.decided(entry, post)
        outcomes.append(Outcome(post, entry, announce))
    db.session.commit()
    return outcomes


# --- users ---


def _live(moment: datetime | None) -> datetime | None:
    return moment if moment is not None and moment > utcnow() else None


def user_state(target: User) -> dict:
    def when(value):
        return value.isoformat() if value else None

    return {
        "suspended_until": when(_live(target.suspended_until)),
        "silenced_until": when(_live(target.silenced_until)),
    }


def _until(until) -> datetime:
    if not isinstance(until, datetime):
        raise ValidationFailed(_("Say until when."), "until")
    if until.tzinfo is None:
        raise ValidationFailed(_("Give a time with its UTC offset."), "until")
    # Year 9999 with a negative offset overflows on the way to UTC: a 422, not a 500.
    until = storable_moment(until, "until")
    now = utcnow()
    if until <= now:
        raise ValidationFailed(_("Choose a time in the future."), "until")
    if until - now > LONGEST_SANCTION:
        raise ValidationFailed(_("Choose a time within ten years."), "until")
    return until


def moderate_user(
    user, target_id: int, action: str, reason: str = "", until=None
) -> Outcome:
    """Silence (cannot post) or suspend (cannot sign in) until a time, or restore.

    A suspension ends every session of the account at once; the caller closes its
    sockets (``Outcome.announce`` holds "disconnect").

    :raises PermissionDenied: not a site moderator, or the target is a moderator or
    admin and the actor not an admin, or the target is the actor.
    """
    _check_action(action, USER_ACTIONS)
    actor = signed_in(user)
    if not is_site_moderator(actor):
        raise PermissionDenied(_("Only a site moderator can restrict accounts."))
    target = db.session.get(User, target_id)
    if target is None:
        raise NotFound(_("There is no user %(id)s.", id=target_id), "user")
    if target.id == actor.id:
        raise PermissionDenied(_("You cannot restrict your own account."))
    staff = {"moderator", "admin"} & target.roles
    if staff and not has_role(actor, "admin"):
        raise PermissionDenied(_("Only an admin can restrict a moderator or admin."))
    reason = _reason(action, reason)
    before = user_state(target)
    announce = []
    if action == "silence":
        target.silenced_until, target.silence_reason = _until(until), reason
    elif action == "suspend":
        target.suspended_until, target.suspend_reason = _until(until), reason
        announce = ["disconnect"]
    else:
        if not any(before.values()):
            raise Conflict(_("This account is not restricted."), "action")
        target.suspended_until = target.silenced_until = None
        target.suspend_reason = target.silence_reason = None
    entry = _log(
        actor, action, "user", target.id, None, reason, before, user_state(target)
    )
    hearing.decided(entry, target)
    db.session.commit()
    if action == "suspend":
        end_all_sessions(target)
    return Outcome(target, entry, announce)
