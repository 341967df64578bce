"""Forum rules: who may read and write where, threads, replies, quotes, edits with
their history, deletion by the author, and the thread of each ticket."""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.areas.models import Area
from portal.bounds import MAX_WHOLE
from portal.dbtypes import utcnow
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.forums import hearing, mentions
from portal.forums.models import Post, PostRevision, Thread
from portal.forums.visibility import (
    can_moderate,
    may_change_post,
    may_quote,
    may_see_thread,
    visible_threads,
)
from portal.forums.watching import watch_by_default
from portal.sanitize import render_markdown

TITLE_MAX = 200
POST_MAX = 20_000
PAGE_SIZE = 30


@dataclass
class Page:
    items: list
    number: int
    pages: int


def signed_in(user):
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in first."))
    return user


def may_post(user):
    """The user, if they may write now. :raises PermissionDenied: not signed in, or
    silenced by a moderator (the message says until when and why)."""
    user = signed_in(user)
    if user.is_silenced:
        raise PermissionDenied(
            _(
                "You cannot post until %(when)s. Reason: %(reason)s",
                when=format_datetime(user.silenced_until, "medium"),
                reason=user.silence_reason or "",
            )
        )
    return user


def is_new_account(user) -> bool:
    days = current_app.config["FORUM_NEW_ACCOUNT_DAYS"]
    return utcnow() - user.created_at < timedelta(days=days)


def _held_for_review(user) -> bool:
    """A brand-new account's first posts wait for a moderator (when so configured)."""
    first = current_app.config["FORUM_HOLD_FIRST_POSTS"]
    if not first or user.roles != {"resident"} or not is_new_account(user):
        return False
    approved = db.session.scalar(
        select(func.count())
        .select_from(Post)
        .where(
            Post.author_id == user.id,
            Post.kind == "user",
            Post.hidden_at.is_(None),
            Post.deleted_at.is_(None),
        )
    )
    return approved < first


def _title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationFailed(_("Give the thread a title."), "title")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(_("Use at most 200 characters."), "title")
    return title


def _body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(_("Write something first."), "body")
    if len(body) > POST_MAX:
        raise ValidationFailed(_("Use at most 20,000 characters."), "body")
    return body


def visible_thread(user, thread_id: int) -> Thread:
    """The thread, if this user may see it. :raises NotFound: none, or not theirs to
    see (deleted or unlisted threads are for moderators)."""
    thread = db.session.get(Thread, thread_id)
    if thread is None or not may_see_thread(user, thread):
        raise NotFound(_("There is no thread %(id)s.", id=thread_id), "thread")
    return thread


def clamp_page(page: int, total: int) -> tuple[int, int]:
    """The page asked for, kept within 1..pages, and the number of pages."""
    pages = max(1, -(-total // PAGE_SIZE))
    return min(max(1, page), pages), pages


def list_threads(user, area: Area, page: int = 1) -> Page:
    """An area's threads: pinned first, then the latest activity."""
    query = select(Thread).where(Thread.area_id == area.id, visible_threads(user))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page, pages = clamp_page(page, total)
    rows = db.session.scalars(
        query.order_by(Thread.pinned.desc(), Thread.last_post_at.desc(), Thread.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return Page(list(rows), page, pages)


def list_posts(thread: Thread, page: int = 1) -> Page:
    """A thread's posts in order; deleted and hidden ones stay (pages show them as
    placeholders to those who may not read them)."""
    page, pages = clamp_page(page, thread.post_count)
    rows = db.session.scalars(
        select(Post)
        .where(Post.thread_id == thread.id)
        .order_by(Post.id)
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    )
    return Page(list(rows), page, pages)


def last_post_id(thread: Thread) -> int | None:
    return db.session.scalar(
        select(func.max(Post.id)).where(Post.thread_id == thread.id)
    )


def first_post_id(thread: Thread) -> int | None:
    return db.session.scalar(
        select(func.min(Post.id)).where(Post.thread_id == thread.id)
    )


def page_of(post: Post) -> int:
    before = db.session.scalar(
        select(func.count())
        .select_from(Post)
        .where(Post.thread_id == post.thread_id, Post.id < post.id)
    )
    return before // PAGE_SIZE + 1


def _add_post(thread: Thread, author, source: str, kind: str = "user") -> Post:
    held = kind == "user" and _held_for_review(author)
    post = Post(
        thread=thread,
        author=author,
        kind=kind,
        source=source,
        html=render_markdown(source),
        created_at=utcnow(),
        held=held,
    )
    if held:
        post.hidden_at = post.created_at
        post.hidden_reason = _("New members' first posts wait for a moderator.")
    db.session.add(post)
    thread.post_count = (thread.post_count or 0) + 1
    thread.last_post_at = post.created_at
    return post


def create_thread(user, area: Area, title: str, body: str) -> Thread:
    """Start a thread, watched by its author; whoever its first post mentions is told.

    :raises PermissionDenied: not signed in. :raises ValidationFailed: naming title
        or body (a mention of nobody too)."""
    user = may_post(user)
    title, source = _title(title), _body(body)
    named = mentions.resolve(source)
    thread = Thread(area=area, author=user, title=title, post_count=0)
    db.session.add(thread)
    post = _add_post(thread, user, source)
    watch_by_default(user.id, thread)
    hearing.post_written(post, mentioned=named)
    db.session.commit()
    return thread


def add_note(thread: Thread, author, markdown: str) -> Post:
    """A note another part of the portal writes into a thread for its user (a
    cleanup's report on a ticket); added to the caller's transaction."""
    return _add_post(thread, author, _body(markdown))


def quote(post: Post) -> str:
    """Markdown quoting a post, with who wrote it."""
    name = post.author.display_name if post.author else _("The city")
    lines = "\n".join(f"> {line}" for line in post.source.splitlines())
    return f"{_('%(name)s wrote:', name=name)}\n{lines}\n\n"


def quotable_post(user, thread: Thread, post_id: int) -> Post:
    """The post a reply to ``thread`` by this user may quote (see
    :func:`portal.forums.visibility.may_quote`).

    :raises ValidationFailed: naming ``quote``: no such post in this thread, or its
        text is not shown to every reader of the thread.
    """
    post = db.session.get(Post, post_id) if 1 <= post_id <= MAX_WHOLE else None
    if post is None or not may_quote(user, post, thread):
        raise ValidationFailed(_("That post cannot be quoted."), "quote")
    return post


def reply(user, thread_id: int, body: str, quote_id: int | None = None) -> Post:
    """Reply; its author watches the thread from now on, and its watchers, the quoted
    post's author and whoever it mentions are told.

    :raises Conflict: the thread is locked. :raises NotFound: no such thread.
    :raises ValidationFailed: naming body (a mention of nobody too), or quote (see
        :func:`quotable_post`)."""
    user = may_post(user)
    thread = visible_thread(user, thread_id)
    if thread.deleted_at is not None:
        raise NotFound(_("There is no thread %(id)s.", id=thread_id), "thread")
    if thread.locked and not can_moderate(user, thread.area):
        raise Conflict(_("This thread is locked."), "thread")
    source, quoted = _body(body), None
    if quote_id is not None:
        quoted = quotable_post(user, thread, quote_id)
        source = _body(quote(quoted) + source)
    named = mentions.resolve(source, thread)
    post = _add_post(thread, user, source)
    watch_by_default(user.id, thread)
    hearing.post_written(post, quoted, named)
    db.session.commit()
    return post


def _changeable_post(user, post_id: int) -> Post:
    user = signed_in(user)
    post = db.session.get(Post, post_id)
    if post is None:
        raise NotFound(_("There is no post %(id)s.", id=post_id), "post")
    visible_thread(user, post.thread_id)  # 404 where the thread is not theirs
    if not may_change_post(user, post):
        if post.deleted_at is not None:
            raise PermissionDenied(_("A deleted post cannot be changed."))
        raise PermissionDenied(_("Only its author can change this post."))
    return post


def post_to_edit(user, post_id: int) -> Post:
    """The post, if this user may edit it now: the edit form shows its source.

    :raises NotFound: no such post, or its thread is not the user's to see.
    :raises PermissionDenied: not signed in, silenced, neither its author nor a
        moderator of its area, or its text is not theirs to read (deleted).
    :raises Conflict: the thread is locked (moderators still edit).
    """
    user = may_post(user)
    post = _changeable_post(user, post_id)
    if post.thread.locked and not can_moderate(user, post.thread.area):
        raise Conflict(_("This thread is locked."), "thread")
    return post


def edit_post(user, post_id: int, body: str, title: str | None = None) -> Post:
    """Change a post (and the thread's title, from its first post); the history
    keeps who changed what and when. Refused as :func:`post_to_edit` is."""
    post = post_to_edit(user, post_id)
    source = _body(body)
    thread = post.thread
    is_first = first_post_id(thread) == post.id
    new_title = _title(title) if title is not None and is_first else None
    if source == post.source and new_title in (None, thread.title):
        return post
    named = mentions.resolve(source, thread)
    post.revisions.append(
        PostRevision(
            editor=user,
            at=utcnow(),
            old_source=post.source,
            new_source=source,
            old_title=thread.title if new_title else None,
            new_title=new_title,
        )
    )
    post.source, post.html, post.edited_at = source, render_markdown(source), utcnow()
    if new_title:
        thread.title = new_title
    hearing.mentions_added(post, named)
    db.session.commit()
    return post


def delete_post(user, post_id: int) -> Post:
    """The author may delete within the window (moderators any time).

    :raises Conflict: the window has passed.
    """
    post = _changeable_post(user, post_id)
    window = timedelta(minutes=current_app.config["FORUM_DELETE_MINUTES"])
    moderator = can_moderate(user, post.thread.area)
    if not moderator and utcnow() - post.created_at > window:
        raise Conflict(
            _("Posts can be deleted for %(m)s minutes.", m=window.seconds // 60),
            "post",
        )
    post.deleted_at = utcnow()
    db.session.commit()
    return post


def ticket_thread(ticket) -> Thread:
    """The ticket's thread in its area's forum, made when first needed."""
    thread = db.session.scalar(select(Thread).where(Thread.ticket_id == ticket.id))
    if thread is not None:
        return thread
    if ticket.area is None:
        raise NotFound(_("This request is in no neighborhood's forum."), "ticket")
    title = f"{ticket.service_name or ticket.service_code}: {ticket.address or ''}"
    thread = Thread(
        area=ticket.area, ticket=ticket, title=_title(title.strip(" :")), post_count=0
    )
    db.session.add(thread)
    # The ticket's story so far, then every later change as it happens.
    for event in ticket.events:
        if event.kind == "status":
            _add_post(thread, None, status_text(ticket, event), kind="system")
    try:
        db.session.commit()
    except IntegrityError:  # made at the same moment by another request
        db.session.rollback()
        thread = db.session.scalar(select(Thread).where(Thread.ticket_id == ticket.id))
    return thread


def status_text(ticket, event) -> str:
    """A status change as a system post's Markdown."""
    if event.new_status == "closed":
        text = _("The city closed this.")
    elif event.old_status == "closed":
        text = _("The city reopened this.")
    else:
        text = _("Status: %(status)s.", status=event.new_status or "")
    if event.notes:
        text += f" {event.notes}"
    if ticket.agency:
        text += f" — {ticket.agency}"
    return text


def on_ticket_event(ticket, event) -> None:
    """A ticket's status changed: a system post in its thread, if it has one (added
    to the caller's transaction)."""
    if event.kind != "status":
        return
    # No autoflush: the caller may be half-way through changing the ticket.
    with db.session.no_autoflush:
        thread = db.session.scalar(select(Thread).where(Thread.ticket_id == ticket.id))
    if thread is not None:
        post = _add_post(thread, None, status_text(ticket, event), kind="system")
        post.ticket_status = event.new_status  # for the live thread header
