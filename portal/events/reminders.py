"""Reminders, by the worker: REMINDER_HOURS before an event, everyone going is told
through portal.notifications (on the site, and by email as each person chose);
once each.

Each answer is claimed (``reminded_at``) in the same transaction as its
notification: two workers never both remind, and a pass that fails leaves neither.
A new start time releases the claims (events.services.update_event), and the
notification is named by the start, so a moved event is reminded of again while a
repeated pass adds nothing.
"""

from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from portal.dbtypes import utcnow
from portal.events import hearing
from portal.events.models import Event, Rsvp
from portal.extensions import db


def due(now) -> dict[int, list[int]]:
    """Going answers to events starting within the reminder window, not reminded:
    ``{event_id: [rsvp_id, ...]}``."""
    window = timedelta(hours=current_app.config["REMINDER_HOURS"])
    rows = db.session.execute(
        select(Rsvp.event_id, Rsvp.id)
        .join(Event, Event.id == Rsvp.event_id)
        .where(
            Rsvp.state == "going",
            Rsvp.reminded_at.is_(None),
            Event.status == "scheduled",
            Event.starts_at > now,
            Event.starts_at <= now + window,
        )
        .order_by(Rsvp.event_id, Rsvp.id)
    )
    found: dict[int, list[int]] = {}
    for event_id, rsvp_id in rows:
        found.setdefault(event_id, []).append(rsvp_id)
    return found


def send_reminders(now=None) -> int:
    """Remind whoever is due, one transaction per event; answers how many people
    were reminded."""
    now = now or utcnow()
    reminded = 0
    for event_id, rsvp_ids in due(now).items():
        # Only the answers still unclaimed now: another worker may have the rest.
        claimed = db.session.scalars(
            update(Rsvp)
            .where(Rsvp.id.in_(rsvp_ids), Rsvp.reminded_at.is_(None))
            .values(reminded_at=now)
            .returning(Rsvp.user_id)
        ).all()
        if claimed:
            hearing.starting_soon(db.session.get(Event, event_id), claimed)
        db.session.commit()
        reminded += len(claimed)
    return reminded
