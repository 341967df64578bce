"""Outbound Socket.IO events of the forums (sent after the commit), room thread:<id>."""

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import socketio
from portal.forums.models import Post, Thread
from portal.sockets import close_user_sockets

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
        "html": "" if post.hidden_at or post.deleted_at else post.html,
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


def thread_changed(thread: Thread) -> None:
    socketio.emit(
        "thread_changed",
        {
            "id": thread.id,
            "title": thread.title,
            "locked": thread.locked,
            "pinned": thread.pinned,
            "unlisted": thread.unlisted,
            "deleted": thread.deleted_at is not None,
            "area": thread.area.slug,
            "ticket_status": thread.ticket.status if thread.ticket else None,
        },
        namespace=NAMESPACE,
        to=room(thread.id),
    )


def room(thread_id: int) -> str:
    return f"thread:{thread_id}"


def staff_room(thread_id: int) -> str:
    """The moderators among a thread's readers (they still see it when hidden)."""
    return f"thread:{thread_id}:staff"


def evict_readers(thread_id: int) -> int:
    """The thread was unlisted or deleted: everyone but its moderators leaves the
    room, so later events never reach pages that may no longer see it."""
    server = socketio.server
    if server is None:
        return 0
    staff = {
        sid
        for sid, _ in server.manager.get_participants(NAMESPACE, staff_room(thread_id))
    }
    evicted = 0
    for sid, _ in list(server.manager.get_participants(NAMESPACE, room(thread_id))):
        if sid not in staff:
            server.leave_room(sid, room(thread_id), namespace=NAMESPACE)
            evicted += 1
    return evicted


def announce(outcome) -> None:
    """Tell open pages what a moderator action changed (after its commit)."""
    target = outcome.target
    for name in outcome.announce:
        if name == "thread_changed":
            thread_changed(target)
            if target.unlisted or target.deleted_at is not None:
                evict_readers(target.id)
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
