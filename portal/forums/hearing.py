"""Who hears of what happens in the forums (portal.notifications), told inside the
transaction of the change: a thread's watchers of a reply, the author of a quoted
post of the reply to it, the people a post names with @, and authors of what
moderators decided about their posts, threads and accounts (with the reason).

Nobody hears of their own action, and nobody hears of a thread they may not see
(forums.visibility, the one rule pages, the API and sockets use).
"""

from flask import has_request_context, url_for
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.auth.models import User
from portal.extensions import db
from portal.forums import mentions
from portal.forums.models import ModerationEntry, Post, PostFlag, Thread
from portal.forums.visibility import may_see_thread, thread_is_open, visible_threads
from portal.forums.watching import thread_watchers
from portal.notifications.kinds import register_kind
from portal.notifications.registry import register_item_type
from portal.notifications.services import Notice, notify, notify_all

# The words of the flag reasons (the report form's own), for the author of a post
# held after reports: they read what neighbors found wrong, never who.
FLAG_WORDS = {
    "spam": _l("Spam"),
    "abuse": _l("Abusive"),
    "off_topic": _l("Off topic"),
    "private": _l("Private information"),
    "other": _l("Something else"),
}

# Decisions in words a person reads in their own language, all in the "account"
# group (settings switch it as one). The moderator is the actor, so is never told of
# their own decision, but is not named: pages say "a moderator" too.
DECISIONS = {
    ("post", "hide"): "post_hidden",
    ("post", "delete"): "post_removed",
    ("post", "restore"): "post_restored",
    ("post", "approve"): "post_approved",
    ("thread", "delete"): "thread_removed",
    ("thread", "unlist"): "thread_unlisted",
    ("thread", "restore"): "thread_restored",
    ("thread", "relist"): "thread_restored",
    ("user", "silence"): "account_silenced",
    ("user", "suspend"): "account_suspended",
    ("user", "restore"): "account_restored",
}
for _code, _words in (
    ("post_hidden", _l("A moderator hid your post in %(title)s. Reason: %(reason)s")),
    (
        "post_removed",
        _l("A moderator removed your post in %(title)s. Reason: %(reason)s"),
    ),
    (
        "post_restored",
        _l("A moderator restored your post in %(title)s: neighbors see it again."),
    ),
    (
        "post_approved",
        _l("A moderator approved your post in %(title)s: neighbors see it now."),
    ),
    (
        "post_held",
        _l(
            "Your post in %(title)s waits for a moderator after neighbors "
            "reported it: %(reason)s"
        ),
    ),
    (
        "thread_removed",
        _l("A moderator removed your thread %(title)s. Reason: %(reason)s"),
    ),
    (
        "thread_unlisted",
        _l(
            "A moderator unlisted your thread %(title)s: only moderators see "
            "it. %(reason)s"
        ),
    ),
    ("thread_restored", _l("A moderator restored your thread %(title)s.")),
    (
        "account_silenced",
        _l("A moderator stopped you posting until %(until)s. Reason: %(reason)s"),
    ),
    (
        "account_suspended",
        _l("A moderator suspended your account until %(until)s. Reason: %(reason)s"),
    ),
    ("account_restored", _l("A moderator lifted the limits on your account.")),
):
    register_kind(_code, "account", _words)


# --- items: what notifications link to, and who may still see them ---


def _thread_link(thread_id: int) -> str:
    return url_for("forums.thread", thread_id=thread_id)


def _visible(user, thread_ids: list[int]) -> set[int]:
    """The threads among these the user may see now: one query."""
    return set(
        db.session.scalars(
            select(Thread.id).where(Thread.id.in_(thread_ids), visible_threads(user))
        )
    )


def _decision_link(entry_id: int) -> str | None:
    entry = db.session.get(ModerationEntry, entry_id)
    if entry is None or entry.target_type == "user":
        return None
    if entry.target_type == "post":
        return url_for("forums.post", post_id=entry.target_id)
    return url_for("forums.thread", thread_id=entry.target_id)


register_item_type("thread", link=_thread_link, visible=_visible)
# A decision stays readable by whom it is about, even once its thread is hidden.
register_item_type("moderation", link=_decision_link)


def _post_url(post: Post) -> str | None:
    # In a request (pages, the API) the link leads to the post itself; elsewhere
    # the thread's own link serves.
    if not has_request_context():
        return None
    return url_for("forums.post", post_id=post.id)


def _who_may_see(thread: Thread, user_ids: set[int]) -> set[int]:
    """The people among these who may see the thread now."""
    if not user_ids or thread_is_open(thread):
        return set(user_ids)
    people = db.session.scalars(select(User).where(User.id.in_(sorted(user_ids))))
    return {person.id for person in people if may_see_thread(person, thread)}


def _about(thread: Thread) -> dict:
    return {"title": thread.title, "area": thread.area.name if thread.area else None}


# --- posts ---

# When one post concerns someone in several ways, they hear of the most direct one.
RANK = ("mention", "post_reply", "reply")


def post_written(post: Post, quoted: Post | None = None, mentioned=()) -> int:
    """A post its thread's readers can read: the thread's watchers hear of a reply,
    the quoted post's author of a reply to them, the accounts it names of a
    mention. Once per post and person (calling it again, as an approval does, adds
    nothing); a post held for review waits for a moderator's approval.

    :param mentioned: the accounts :func:`portal.forums.mentions.resolve` found.
    :returns: how many were told.
    """
    if post.held or post.hidden_at is not None or post.kind != "user":
        return 0
    db.session.flush()  # the post's id names the change
    thread = post.thread
    kind_of: dict[int, str] = dict.fromkeys(thread_watchers(thread), "reply")
    if quoted is not None and quoted.author_id is not None:
        kind_of[quoted.author_id] = "post_reply"
    for person in mentioned:
        kind_of[person.id] = "mention"
    kind_of.pop(post.author_id, None)
    allowed = _who_may_see(thread, set(kind_of))
    notices = [
        Notice(
            kind,
            ("thread", thread.id),
            [uid for uid in allowed if kind_of[uid] == kind],
            actor=post.author_id,
            values=_about(thread),
            url=_post_url(post),
            change=f"post-{post.id}",
        )
        for kind in RANK
    ]
    return notify_all(notice for notice in notices if notice.recipients)


def mentions_added(post: Post, mentioned) -> int:
    """An edited post: the accounts it names now hear of it, those told before not
    again."""
    if post.held or post.hidden_at is not None or post.kind != "user":
        return 0
    thread = post.thread
    people = _who_may_see(thread, {person.id for person in mentioned})
    return notify(
        "mention",
        item=("thread", thread.id),
        recipients=people,
        actor=post.author_id,
        values=_about(thread),
        url=_post_url(post),
        change=f"post-{post.id}",
    )


def held_by_flags(post: Post) -> int:
    """Enough reports hid a post until a moderator looks: its author hears why, in
    the reports' words; the reporters stay unnamed (no actor)."""
    reasons = db.session.scalars(
        select(PostFlag.reason)
        .where(PostFlag.post_id == post.id, PostFlag.resolved_at.is_(None))
        .distinct()
    )
    words = ", ".join(sorted(str(FLAG_WORDS.get(r, r)) for r in reasons))
    # Every report ever made on it: a post held, approved and reported again is
    # held again, and its author told again.
    reports = db.session.scalar(
        select(func.count()).select_from(PostFlag).where(PostFlag.post_id == post.id)
    )
    return notify(
        "post_held",
        item=("thread", post.thread_id),
        recipients=[post.author_id] if post.author_id else [],
        values={**_about(post.thread), "reason": words},
        url=_post_url(post),
        change=f"post-{post.id}-reports-{reports}",
    )


# --- moderators' decisions ---


def decided(entry: ModerationEntry, target) -> int:
    """A moderator's decision about someone's post, thread or account: they hear of
    it, with the moderator as the actor and the reason as the moderator wrote it.
    Approving a post nobody was kept from reading tells nothing; one that was held
    is also news to the thread's watchers now."""
    kind = DECISIONS.get((entry.target_type, entry.action))
    if kind is None:
        return 0
    if kind == "post_approved" and not entry.before.get("hidden"):
        return 0
    db.session.flush()  # the entry's id names the decision
    values = {"reason": entry.reason or ""}
    if entry.target_type == "user":
        recipient = target.id
        until = target.suspended_until if kind == "account_suspended" else None
        if kind == "account_silenced":
            until = target.silenced_until
        if until is not None:
            values["until"] = format_datetime(until, "medium")
    else:
        thread = target if entry.target_type == "thread" else target.thread
        recipient = target.author_id
        values.update(_about(thread))
    told = notify(
        kind,
        item=("moderation", entry.id),
        recipients=[recipient] if recipient else [],
        actor=entry.actor_id,
        values=values,
    )
    if kind in ("post_approved", "post_restored"):
        named = mentions.resolve(target.source, target.thread, strict=False)
        told += post_written(target, mentioned=named)
    return told
