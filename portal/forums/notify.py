"""Outbound Socket.IO events of the forums (sent after the commit), room thread:<id>."""

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import socketio
from portal.forums.models import Post, Thread

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
            "area": thread.area.slug,
            "ticket_status": thread.ticket.status if thread.ticket else None,
        },
        namespace=NAMESPACE,
        to=room(thread.id),
    )


def room(thread_id: int) -> str:
    return f"thread:{thread_id}"


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
