"""Reminders, sent by the worker: REMINDER_HOURS before an event, to everyone
going, by email (when MAIL_SERVER is set) and on the site; once each.

Each reminder is claimed in the database first (``reminded_at``), so two workers
never both send it; a failed email releases the claim for the next pass.
"""

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_mail import Message
from sqlalchemy import select, update

from portal.dbtypes import utcnow
from portal.events.models import Event, Rsvp
from portal.events.services import notify
from portal.extensions import db, mail

log = logging.getLogger(__name__)


def due(now) -> list[int]:
    """Going answers to events starting within the reminder window, not reminded."""
    window = timedelta(hours=current_app.config["REMINDER_HOURS"])
    return list(
        db.session.scalars(
            select(Rsvp.id)
            .join(Event, Event.id == Rsvp.event_id)
            .where(
                Rsvp.state == "going",
                Rsvp.reminded_at.is_(None),
                Event.status == "scheduled",
                Event.starts_at > now,
                Event.starts_at <= now + window,
            )
        )
    )


def _claim(rsvp_id: int, now) -> bool:
    claimed = db.session.execute(
        update(Rsvp)
        .where(Rsvp.id == rsvp_id, Rsvp.reminded_at.is_(None))
        .values(reminded_at=now)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _email(answer: Rsvp, text: str, link: str) -> None:
    event = answer.event
    message = Message(
        subject=_("Reminder: %(title)s", title=event.title),
        recipients=[answer.user.email],
        body=f"{text}\n\n{event.place}\n{link}\n",
    )
    mail.send(message)


def send_reminders(now=None) -> int:
    """Send what is due; answers how many were sent."""
    now = now or utcnow()
    sent = 0
    for rsvp_id in due(now):
        if not _claim(rsvp_id, now):
            continue  # another worker has it
        answer = db.session.get(Rsvp, rsvp_id)
        event = answer.event
        # The worker runs outside any request: links come from the public address.
        link = (current_app.config.get("PUBLIC_URL") or "").rstrip("/") + (
            f"/events/{event.id}"
        )
        text = _(
            "“%(title)s” starts %(when)s.",
            title=event.title,
            when=format_datetime(event.starts_at, "medium"),
        )
        try:
            if current_app.config.get("MAIL_SERVER"):
                _email(answer, text, link)
        except Exception:  # the SMTP server refused or was away: try again later
            log.exception("reminder %s could not be mailed", rsvp_id)
            answer.reminded_at = None
            db.session.commit()
            continue
        notify(answer.user_id, text, f"/events/{event.id}")
        db.session.commit()
        sent += 1
    return sent
