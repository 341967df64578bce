"""Watching a thread: the Watch button, who watches by default (who started it and
who replies), and who watches a thread now. A ticket's thread is watched by
following its ticket: one button, one list of people, on both pages."""

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.dbtypes import utcnow
from portal.errors import NotFound, PermissionDenied
from portal.extensions import db
from portal.forums.models import Thread
from portal.forums.visibility import may_see_thread
from portal.notifications import watches
from portal.notifications.models import Notification, Watch
from portal.notifications.services import mark_all_read
from portal.tickets.models import TicketFollow


def _insert_once(table, row: dict, keys: list[str]) -> None:
    """Add the row unless it is there, without failing the caller's transaction when
    another request adds it at the same moment."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(
        insert(table).values(**row).on_conflict_do_nothing(index_elements=keys)
    )


def watch_by_default(user_id: int | None, thread: Thread) -> None:
    """Who starts a thread or replies in it watches it, inside the caller's
    transaction, unless they have said otherwise: an Unwatch is kept as a muted
    watch, and an existing row (muted or not) is left as it is."""
    if user_id is None:
        return
    db.session.flush()  # the thread's id
    if thread.ticket_id is not None:
        _follow(user_id, thread.ticket_id)
    else:
        _watch_row(user_id, thread.id, muted=False)


def _follow(user_id: int, ticket_id: int) -> None:
    _insert_once(
        TicketFollow.__table__,
        {"ticket_id": ticket_id, "user_id": user_id, "created_at": utcnow()},
        ["ticket_id", "user_id"],
    )


def _watch_row(user_id: int, thread_id: int, muted: bool) -> None:
    _insert_once(
        Watch.__table__,
        {
            "user_id": user_id,
            "kind": "thread",
            "item_id": thread_id,
            "muted": muted,
            "created_at": utcnow(),
        },
        ["user_id", "kind", "item_id"],
    )


def thread_watchers(thread: Thread) -> set[int]:
    """Who watches the thread now: its ticket's followers for a ticket's thread."""
    if thread.ticket_id is not None:
        return set(
            db.session.scalars(
                select(TicketFollow.user_id).where(
                    TicketFollow.ticket_id == thread.ticket_id
                )
            )
        )
    return watches.watchers("thread", [thread.id])[thread.id]


def is_watching(user, thread: Thread) -> bool:
    """Whether the user hears of the thread's replies."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if thread.ticket_id is not None:
        found = db.session.get(TicketFollow, (thread.ticket_id, user.id))
        return found is not None
    return watches.is_watching(user, "thread", thread.id)


def set_watching(user, thread_id: int, watch: bool) -> Thread:
    """Watch a thread or stop; doing it twice changes nothing. For a ticket's thread
    this follows or unfollows the ticket.

    :raises PermissionDenied: not signed in.
    :raises NotFound: no such thread, or not the user's to see.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in first."))
    thread = db.session.get(Thread, thread_id)
    if thread is None or not may_see_thread(user, thread):
        raise NotFound(_("There is no thread %(id)s.", id=thread_id), "thread")
    if thread.ticket_id is not None:
        if watch:
            _follow(user.id, thread.ticket_id)
        else:
            db.session.execute(
                delete(TicketFollow).where(
                    TicketFollow.ticket_id == thread.ticket_id,
                    TicketFollow.user_id == user.id,
                )
            )
        db.session.commit()
    elif watch:
        watches.watch_item(user, "thread", thread.id)
    else:
        # Kept, muted, rather than removed: a later reply does not watch it again.
        _watch_row(user.id, thread.id, muted=True)
        db.session.execute(
            update(Watch)
            .where(
                Watch.user_id == user.id,
                Watch.kind == "thread",
                Watch.item_id == thread.id,
            )
            .values(muted=True)
        )
        db.session.commit()
    return thread


def thread_seen(user, thread: Thread) -> None:
    """The thread's page was opened: what the user was told about it is read. A
    look first, so a page view writes only when there is something to mark."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    unread = db.session.scalar(
        select(Notification.id)
        .where(
            Notification.recipient_id == user.id,
            Notification.item_type == "thread",
            Notification.item_id == thread.id,
            Notification.read_at.is_(None),
        )
        .limit(1)
    )
    if unread is not None:
        mark_all_read(user, ("thread", thread.id))
