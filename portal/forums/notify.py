"""Outbound Socket.IO events of the forums (sent after the commit), room thread:<id>."""

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.auth.models import User
from portal.extensions import db, socketio
from portal.forums.models import Post, Thread
from portal.forums.visibility import (
    can_moderate,
    may_see_thread,
    open_to_thread_readers,
)
from portal.realtime import everywhere, on_everywhere
from portal.sockets import close_user_sockets, user_room

NAMESPACE = "/forums"


def post_payload(post: Post) -> dict:
    """What every reader may see of a new or changed post (html is sanitized)."""
    return {
        "id": post.id,
        "thread_id": post.thread_id,
        "kind": post.kind,
        "author": post.author.display_name if post.author else None,
        "created_at": post.created_at.isoformat(),
        "edited": post.edited_at is not None,
        # Every socket in the room may see the thread; not every one may read
        # hidden text, so only what all of them read goes out.
        "html": post.html if open_to_thread_readers(post) else "",
    }


def post_created(post: Post) -> None:
    socketio.emit(
        "post_created", post_payload(post), namespace=NAMESPACE, to=room(post.thread_id)
    )


def post_updated(post: Post) -> None:
    socketio.emit(
        "post_updated", post_payload(post), namespace=NAMESPACE, to=room(post.thread_id)
    )


def post_hidden(post: Post) -> None:
    socketio.emit(
        "post_hidden",
        {"id": post.id, "thread_id": post.thread_id},
        namespace=NAMESPACE,
        to=room(post.thread_id),
    )


def _thread_state(thread: Thread) -> dict:
    return {
        "id": thread.id,
        "title": thread.title,
        "locked": thread.locked,
        "pinned": thread.pinned,
        "unlisted": thread.unlisted,
        "deleted": thread.deleted_at is not None,
        "area": thread.area.slug,
        "ticket_status": thread.ticket.status if thread.ticket else None,
    }


# Every web process judges the rooms of its own sockets (portal.realtime).
RECHECK = "forums.recheck"


def thread_changed(thread: Thread) -> None:
    """Tell the thread's pages what changed, after its rooms are judged again in every
    process: the pages that may no longer see it hear only that it is gone, not where
    it went. The judging travels before the news, on the same queue, so no process
    tells a page it has just taken out."""
    everywhere(RECHECK, {"thread": thread.id})
    socketio.emit(
        "thread_changed", _thread_state(thread), namespace=NAMESPACE, to=room(thread.id)
    )


def _recheck_here(payload: dict) -> None:
    thread = db.session.get(Thread, payload["thread"])
    if thread is None:
        return
    gone = recheck_rooms(thread)
    if gone:
        farewell = {**_thread_state(thread), "area": None, "ticket_status": None}
        for sid in gone:
            # The socket is in this process: no other needs the farewell.
            socketio.server.emit(
                "thread_changed",
                farewell,
                namespace=NAMESPACE,
                to=sid,
                ignore_queue=True,
            )


on_everywhere(RECHECK, _recheck_here)


def room(thread_id: int) -> str:
    return f"thread:{thread_id}"


def staff_room(thread_id: int) -> str:
    """The moderators among a thread's readers (they still see it when hidden)."""
    return f"thread:{thread_id}:staff"


# "user:", the start of the room portal.sockets puts each signed-in socket in.
_USER_ROOM = user_room(0).removesuffix("0")


def _account_of(sid: str) -> User | None:
    """The account a socket carries, as it is now (found by its user's room, joined
    at connect); None for an anonymous socket."""
    for name in socketio.server.manager.get_rooms(sid, NAMESPACE):
        if isinstance(name, str) and name.startswith(_USER_ROOM):
            number = name.removeprefix(_USER_ROOM)
            if number.isdigit():
                return db.session.get(User, int(number))
    return None


def settle(sid: str, user, thread: Thread) -> bool:
    """Put one socket in the rooms of the thread its account may be in now: out of
    both when it may not see the thread, in the staff room only while it moderates
    the thread's area. Answers whether it may stay."""
    server = socketio.server
    if not may_see_thread(user, thread):
        server.leave_room(sid, room(thread.id), namespace=NAMESPACE)
        server.leave_room(sid, staff_room(thread.id), namespace=NAMESPACE)
        return False
    if can_moderate(user, thread.area):
        try:
            server.enter_room(sid, staff_room(thread.id), namespace=NAMESPACE)
        except (KeyError, ValueError):  # the socket has just gone
            pass
    else:
        server.leave_room(sid, staff_room(thread.id), namespace=NAMESPACE)
    return True


def recheck_rooms(thread: Thread) -> list[str]:
    """Judge every socket in ``thread:<id>`` and ``thread:<id>:staff`` again by
    the visibility rule, for its account as it is now: called on every change of the
    thread (move, unlist, relist, delete, restore...), since rights were checked at
    join for the thread as it was then. Answers the sockets taken out.

    Rooms live in the process serving the socket; so does this check (each process
    runs it for its own, through ``thread_changed``).
    """
    server = socketio.server
    if server is None:
        return []
    sids = {
        sid
        for name in (room(thread.id), staff_room(thread.id))
        for sid, _ in server.manager.get_participants(NAMESPACE, name)
    }
    return [sid for sid in sids if not settle(sid, _account_of(sid), thread)]


def announce(outcome) -> None:
    """Tell open pages what a moderator action changed (after its commit)."""
    target = outcome.target
    for name in outcome.announce:
        if name == "thread_changed":
            thread_changed(target)
        elif name == "post_hidden":
            post_hidden(target)
        elif name == "post_updated":
            post_updated(target)
        elif name == "disconnect":
            close_user_sockets(target.id)


# System posts are written inside other domains' transactions (the sync, the push):
# their payloads are taken at flush, when ids exist, and sent once the commit holds.
ANNOUNCE = "forums.announce"


@event.listens_for(Session, "after_flush")
def _collect(session, _flush_context):
    for obj in session.new:
        if isinstance(obj, Post) and obj.kind == "system":
            payload = {
                "id": obj.id,
                "thread_id": obj.thread_id,
                "kind": "system",
                "author": None,
                "created_at": obj.created_at.isoformat(),
                "edited": False,
                "html": obj.html,
                "ticket_status": getattr(obj, "ticket_status", None),
            }
            session.info.setdefault(ANNOUNCE, []).append(payload)


@event.listens_for(Session, "after_commit")
def _announce(session):
    for payload in session.info.pop(ANNOUNCE, []):
        socketio.emit(
            "post_created", payload, namespace=NAMESPACE, to=room(payload["thread_id"])
        )


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(ANNOUNCE, None)
