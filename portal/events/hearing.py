"""Who hears of an event (portal.notifications), told in the transaction of the
change: whoever answered it (going or waitlisted) of a new time or place, of its
cancellation, of a place freed for them and, going, of its start a day ahead; the
watchers of its area or of a circle around it of a new event."""

from flask import url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.events.models import Event, Rsvp
from portal.extensions import db
from portal.notifications import watches
from portal.notifications.kinds import register_kind
from portal.notifications.registry import register_item_type
from portal.notifications.services import Notice, notify, notify_all

ANSWERED = ("going", "waitlisted")

# Events are public: linked, never hidden from anyone.
register_item_type("event", link=lambda id_: url_for("events.show", event_id=id_))
# The on-site notices of before (migration 0015 moved them here), in their words.
register_kind("event_notice", "events", _l("%(text)s"))


def _about(event: Event) -> dict:
    return {
        "title": event.title,
        "area": event.area.name if event.area else None,
        "when": format_datetime(event.starts_at, "medium"),
        "place": event.place,
    }


def _answered(event: Event) -> set[int]:
    """Who answered going or waitlisted, and whoever follows the event."""
    people = set(
        db.session.scalars(
            select(Rsvp.user_id).where(
                Rsvp.event_id == event.id, Rsvp.state.in_(ANSWERED)
            )
        )
    )
    return people | watches.watchers("event", [event.id])[event.id]


def created(event: Event) -> int:
    """A new event: who watches its area, or a circle around it, hears of it."""
    db.session.flush()  # the event's id
    place = watches.Place(event.id, event.lat, event.lon, event.area.id)
    heard = watches.watchers_of_places([place])[event.id]
    return notify(
        "new_event",
        item=("event", event.id),
        recipients=heard,
        actor=event.organizer_id,
        values=_about(event),
    )


def moved(event: Event, actor, time: bool, place: bool) -> int:
    """A new time or place (or both), told to everyone who answered, once per
    change of the event (its calendar SEQUENCE names it)."""
    about = _about(event)
    if time and place:
        what = _("now %(when)s at %(place)s", when=about["when"], place=event.place)
    elif time:
        what = _("now %(when)s", when=about["when"])
    else:
        what = _("now at %(place)s", place=event.place)
    return notify(
        "event_changed",
        item=("event", event.id),
        recipients=_answered(event),
        actor=actor,
        values={**about, "what": what},
        change=f"sequence-{event.sequence}",
    )


def cancelled(event: Event, actor) -> int:
    """Told once to everyone who answered."""
    return notify(
        "event_cancelled",
        item=("event", event.id),
        recipients=_answered(event),
        actor=actor,
        values=_about(event),
    )


def promoted(event: Event, answers: list[Rsvp], actor=None) -> int:
    """Places freed up: each promoted person hears they are going. An answer's
    queue number is new each time it joins the line, so a second promotion of the
    same person (after leaving and coming back) is news again."""
    if not answers:
        return 0
    db.session.flush()
    about = _about(event)
    return notify_all(
        Notice(
            "event_promoted",
            ("event", event.id),
            [answer.user_id],
            actor=actor,
            values=about,
            change=f"answer-{answer.id}-{answer.queue_number}",
        )
        for answer in answers
    )


def starting_soon(event: Event, user_ids: list[int]) -> int:
    """The reminder before the start; the start time names it, so a moved event is
    reminded of again and a repeated run adds nothing."""
    return notify(
        "event_soon",
        item=("event", event.id),
        recipients=user_ids,
        values=_about(event),
        change=event.starts_at.isoformat(),
    )
