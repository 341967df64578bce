"""Outbound Socket.IO for /notifications: each person's bell, room user:<id>, rung
once the transaction that wrote their notifications has committed."""

import json
import logging

from flask import current_app
from socketio import PubSubManager
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.extensions import db, socketio
from portal.notifications import services
from portal.notifications.models import Notification
from portal.sockets import user_room

log = logging.getLogger(__name__)

NAMESPACE = "/notifications"


def payload(row: Notification, words: dict | None = None) -> dict:
    """What a page may show of one notification (the recipient's own).

    :param words: a memo of sentences, for many rows told of one change.
    """
    try:
        link = services.link_of(row)
    except RuntimeError:  # no request to build a link in (the worker): the list has it
        link = row.url
    if words is None:
        text = services.text_of(row)
    else:
        key = (row.kind, row.actor_id, json.dumps(row.values, sort_keys=True))
        if key not in words:
            words[key] = services.text_of(row)
        text = words[key]
    return {
        "id": row.id,
        "kind": row.kind,
        "item": {"type": row.item_type, "id": row.item_id},
        "text": text,
        "url": link,
        "created_at": row.created_at.isoformat(),
        "read": row.read_at is not None,
    }


def _listened(room: str) -> bool:
    """Whether a socket may be in the room: here, or in any process over a queue."""
    server = socketio.server
    if server is None:
        return False
    if isinstance(server.manager, PubSubManager):
        return True  # other processes hold their own sockets
    return room in server.manager.rooms.get(NAMESPACE, {})


def ring(pending: dict[int, int | None]) -> None:
    """``notification`` {unread, latest} to each person's sockets: ``latest`` is the
    newest notification written for them (None when only their count changed).

    :param pending: user id -> the id of their newest new notification, or None.
    """
    # One process and nobody's bell open (the worker's sync): nothing to build.
    pending = {who: n for who, n in pending.items() if _listened(user_room(who))}
    if not pending:
        return
    counts = services.unread_counts(pending)
    numbers = sorted(number for number in pending.values() if number)
    rows = {}
    for start in range(0, len(numbers), services.CHUNK):
        chunk = numbers[start : start + services.CHUNK]
        query = select(Notification).where(Notification.id.in_(chunk))
        rows.update((row.id, row) for row in db.session.scalars(query))
    words: dict = {}
    for user_id, number in pending.items():
        row = rows.get(number)
        socketio.emit(
            "notification",
            {"unread": counts[user_id], "latest": payload(row, words) if row else None},
            namespace=NAMESPACE,
            to=user_room(user_id),
        )


@event.listens_for(Session, "after_commit")
def _ring_after_commit(session):
    pending = session.info.pop(services.PUSH, None)
    if not pending:
        return
    # The committed session may run no more SQL: a context of its own reads the
    # counts (Flask-SQLAlchemy gives each app context its own session).
    with current_app.app_context():
        try:
            ring(pending)
        except Exception:  # the rows are stored; a lost ring is a bell late
            log.exception("the bell of %s people could not be rung", len(pending))
        finally:
            db.session.remove()


@event.listens_for(Session, "after_rollback")
def _forget(session):
    session.info.pop(services.PUSH, None)
