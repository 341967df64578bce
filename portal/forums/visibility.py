"""Who may see what in the forums: one rule for pages, API, quotes and sockets."""

from dataclasses import dataclass

from sqlalchemy import and_, or_, true

from portal.forums.models import Post, Thread


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def moderated_areas(user) -> frozenset[int] | None:
    """The ids of the areas the user moderates; None for every area (a moderator
    without an area, or an admin). Everyone else moderates no area."""
    if not _authenticated(user):
        return frozenset()
    ids = set()
    for grant in user.grants:
        if grant.role == "admin" or (
            grant.role == "moderator" and grant.area_id is None
        ):
            return None
        if grant.role == "moderator":
            ids.add(grant.area_id)
    return frozenset(ids)


def can_moderate(user, area) -> bool:
    """A moderator of this area (or of the whole site), or an admin. Without an
    area: a moderator anywhere."""
    ids = moderated_areas(user)
    if ids is None:
        return True
    return bool(ids) if area is None else area.id in ids


def is_site_moderator(user) -> bool:
    """A moderator without an area (or an admin): the whole site is theirs."""
    return _authenticated(user) and moderated_areas(user) is None


def is_author(user, post: Post) -> bool:
    return _authenticated(user) and post.author_id == user.id


# --- threads ---


def thread_is_open(thread: Thread) -> bool:
    """Listed and not deleted: everyone's to see."""
    return thread.deleted_at is None and not thread.unlisted


def may_see_thread(user, thread: Thread) -> bool:
    """May this viewer see the thread at all (its title, that its posts exist)?

    Listed threads are everyone's; unlisted and deleted ones are only for the
    moderators of the area the thread is in now.
    """
    return thread_is_open(thread) or can_moderate(user, thread.area)


def visible_threads(user):
    """:func:`may_see_thread` as a SQL condition on ``Thread``, for lists and joins
    (a test holds the two to the same answers)."""
    ids = moderated_areas(user)
    if ids is None:
        return true()
    listed = and_(Thread.deleted_at.is_(None), Thread.unlisted.is_(False))
    return or_(listed, Thread.area_id.in_(sorted(ids))) if ids else listed


# --- posts ---


def open_to_thread_readers(post: Post) -> bool:
    """Text that every reader of its thread sees: not hidden by a moderator, not
    held by flags or for review, not deleted."""
    return post.hidden_at is None and not post.held and post.deleted_at is None


def may_read_post(user, post: Post) -> bool:
    """May this viewer see this post's text? The one rule for post text.

    Nobody reads posts of a thread they may not see. In a thread they see: open
    text is everyone's; moderators of its area read everything, hidden and deleted
    alike; its author still reads a hidden or held post (and why), but not once it
    is deleted.
    """
    thread = post.thread
    if not may_see_thread(user, thread):
        return False
    if open_to_thread_readers(post) or can_moderate(user, thread.area):
        return True
    return post.deleted_at is None and is_author(user, post)


def may_quote(user, post: Post, thread: Thread) -> bool:
    """May this viewer quote the post in a reply to ``thread``?

    A quote becomes a new post that every reader of the thread sees, so it may only
    copy text all of them see already, from that same thread, and that the quoting
    person reads now: never hidden, held or deleted text, even for a moderator.
    """
    return (
        post.thread_id == thread.id
        and open_to_thread_readers(post)
        and may_read_post(user, post)
    )


def may_change_post(user, post: Post) -> bool:
    """May this viewer edit or delete the post (and so read its source)?

    Its author or a moderator of its area, only while they may read its text, and
    never once it is deleted. Locks and time windows are the services' to add.
    """
    if post.deleted_at is not None or not may_read_post(user, post):
        return False
    return is_author(user, post) or can_moderate(user, post.thread.area)


def may_see_reason(user, post: Post) -> bool:
    """Why a post is hidden or deleted: for its author and the area's moderators."""
    if not may_see_thread(user, post.thread):
        return False
    return is_author(user, post) or can_moderate(user, post.thread.area)


@dataclass(frozen=True)
class Viewer:
    """The rules above for one viewer, as templates ask them."""

    user: object

    def reads(self, post: Post) -> bool:
        return may_read_post(self.user, post)

    def quotes(self, post: Post) -> bool:
        return may_quote(self.user, post, post.thread)

    def changes(self, post: Post) -> bool:
        return may_change_post(self.user, post)

    def sees_reason(self, post: Post) -> bool:
        return may_see_reason(self.user, post)
