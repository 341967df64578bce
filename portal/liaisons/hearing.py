"""Who hears of the liaisons' work (portal.notifications), told in the transaction
of the change: the watchers of an area of a new meeting and of its minutes, and a
batch's filer once the city has answered for every ticket of it, with the counts.

A batch ends in the sender's transactions (the tickets domain, which knows nothing
of batches): this package listens to the tickets' history lines
(``tickets.services.event_recorded``) and, when that transaction commits, looks at
the batches of the tickets it touched.
"""

import hashlib

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import event as orm_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.liaisons.models import Batch, BatchRow, Meeting
from portal.notifications.registry import register_item_type
from portal.notifications.services import Notice, notify, notify_all
from portal.notifications.watches import Place, watchers_of_places
from portal.tickets.models import Ticket
from portal.tickets.services import event_recorded

# Meetings are public; a batch is its filer's (they are the only one told of it).
register_item_type(
    "meeting", link=lambda id_: url_for("liaisons.meeting", meeting_id=id_)
)
register_item_type("batch", link=lambda id_: url_for("batches.show", batch_id=id_))

# The history lines that may settle a ticket of a batch, and where it then stands.
SETTLING = frozenset({"sent", "token", "rejected", "held", "failed"})
WAITING = ("queued", "sending", "confirming")
# session.info: the tickets this transaction settled, looked at when it commits.
SETTLED = "liaisons.settled"


def _about(meeting: Meeting) -> dict:
    return {
        "title": meeting.title,
        "area": meeting.area.name if meeting.area else None,
        "when": format_datetime(meeting.starts_at, "medium"),
        "place": meeting.place,
    }


def _area_watchers(meeting: Meeting) -> set[int]:
    place = Place(meeting.id, None, None, meeting.area.id)
    return watchers_of_places([place])[meeting.id]


def meeting_created(meeting: Meeting) -> int:
    """A new meeting: who watches its area (its captains and liaisons among them)
    hears of it, its organizer not."""
    db.session.flush()  # the meeting's id
    return notify(
        "new_meeting",
        item=("meeting", meeting.id),
        recipients=_area_watchers(meeting),
        actor=meeting.created_by_id,
        values=_about(meeting),
    )


def minutes_published(meeting: Meeting, actor) -> int:
    """The minutes, once per meeting: publishing them again corrects, not news."""
    return notify(
        "minutes_published",
        item=("meeting", meeting.id),
        recipients=_area_watchers(meeting),
        actor=actor,
        values=_about(meeting),
    )


# --- a batch's end ---


def _on_recorded(ticket: Ticket, event=None, **_kwargs) -> None:
    if event is not None and event.kind in SETTLING and ticket.id is not None:
        db.session.info.setdefault(SETTLED, set()).add(ticket.id)


event_recorded.connect(_on_recorded)


@orm_event.listens_for(Session, "before_commit")
def _tell_at_commit(session) -> None:
    settled = session.info.pop(SETTLED, None)
    if settled:
        notify_all(finished_batches(settled))


@orm_event.listens_for(Session, "after_rollback")
def _forget(session) -> None:
    session.info.pop(SETTLED, None)


def finished_batches(ticket_ids) -> list[Notice]:
    """For the batches of these tickets, one notice each whose every ticket the
    city has answered for (sent, refused, held or given up on)."""
    batch_ids = set(
        db.session.scalars(
            select(BatchRow.batch_id).where(
                BatchRow.ticket_id.in_(sorted(ticket_ids)), BatchRow.outcome == "filed"
            )
        )
    )
    notices = []
    for batch_id in sorted(batch_ids):
        rows = db.session.execute(
            select(Ticket.id, Ticket.send_state)
            .join(BatchRow, BatchRow.ticket_id == Ticket.id)
            .where(BatchRow.batch_id == batch_id, BatchRow.outcome == "filed")
        ).all()
        states = [state or "sent" for _id, state in rows]
        if not rows or any(state in WAITING for state in states):
            continue
        batch = db.session.get(Batch, batch_id)
        if batch.created_by_id is None:
            continue
        notices.append(_finished(batch, rows, states))
    return notices


def _finished(batch: Batch, rows, states: list[str]) -> Notice:
    counts = {
        "sent": states.count("sent"),
        "rejected": states.count("rejected"),
        # Given up on after many tries, or held for an admin: both wait for one.
        "held": states.count("held") + states.count("failed"),
    }
    title = f"#{batch.id}"
    if batch.meeting is not None:
        title = f"#{batch.id} ({batch.meeting.title})"
    # The tickets it ended with name the end: a fixed row filed again makes a new
    # ticket, and the batch's next end is news again.
    ids = ",".join(str(ticket_id) for ticket_id in sorted(i for i, _s in rows))
    return Notice(
        "batch_finished",
        ("batch", batch.id),
        [batch.created_by_id],
        values={
            **counts,
            "title": title,
            "counts": _(
                "%(sent)d sent, %(rejected)d refused by the city, %(held)d held",
                **counts,
            ),
        },
        change=hashlib.sha256(ids.encode()).hexdigest()[:16],
    )
