"""Event rules: who may organize and change what, RSVPs with capacity and a
waitlist kept exact under concurrent answers, and what lists show."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from portal.areas.models import Area
from portal.areas.services import locate
from portal.auth.services import has_role
from portal.dbtypes import utcnow
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.events import hearing
from portal.events.models import KINDS, Event, Rsvp
from portal.extensions import db
from portal.forums.services import signed_in
from portal.geocode import GeocoderUnavailable, get_geocoder
from portal.sanitize import render_markdown

TITLE_MAX = 200
PLACE_MAX = 300
DESCRIPTION_MAX = 10_000
CAPACITY_MAX = 100_000
LONGEST = timedelta(days=7)
FARTHEST = timedelta(days=2 * 366)


@dataclass
class EventInput:
    kind: str
    title: str
    starts_at: datetime | None
    ends_at: datetime | None
    place: str = ""
    lat: float | None = None
    lon: float | None = None
    description: str = ""
    capacity: int | None = None


def _where(given: EventInput) -> tuple[str, float, float, Area]:
    place = " ".join((given.place or "").split())
    if len(place) > PLACE_MAX:
        raise ValidationFailed(_("Use at most 300 characters."), "place")
    if given.lat is not None or given.lon is not None:
        try:
            lat, lon = float(given.lat), float(given.lon)
        except (TypeError, ValueError):
            raise ValidationFailed(
                _("Give a latitude and a longitude."), "lat"
            ) from None
        if not (math.isfinite(lat) and math.isfinite(lon)):
            raise ValidationFailed(_("Give a latitude and a longitude."), "lat")
    elif place:
        try:
            found = get_geocoder().search(place, limit=1)
        except GeocoderUnavailable:
            found = []
        if not found:
            raise ValidationFailed(
                _("This place was not found; put a pin on the map."), "place"
            )
        lat, lon = found[0].lat, found[0].lon
    else:
        raise ValidationFailed(_("Say where: an address or a pin."), "place")
    area = locate(lat, lon)
    if area is None:
        raise ValidationFailed(
            _("That place is outside the neighborhoods this portal serves."), "place"
        )
    if not place:
        place = f"{lat:.5f}, {lon:.5f}"
    return place, lat, lon, area


def _checked(given: EventInput, now: datetime) -> dict:
    if given.kind not in KINDS:
        raise ValidationFailed(
            _("Choose one of: %(kinds)s.", kinds=", ".join(KINDS)), "kind"
        )
    title = " ".join((given.title or "").split())
    if not title:
        raise ValidationFailed(_("Name the event."), "title")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(_("Use at most 200 characters."), "title")
    for name in ("starts_at", "ends_at"):
        moment = getattr(given, name)
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise ValidationFailed(_("Give a date and time."), name)
    if given.starts_at < now - timedelta(minutes=5):
        raise ValidationFailed(_("Choose a start in the future."), "starts_at")
    if given.starts_at - now > FARTHEST:
        raise ValidationFailed(_("Choose a start within two years."), "starts_at")
    if given.ends_at <= given.starts_at:
        raise ValidationFailed(_("The end must come after the start."), "ends_at")
    if given.ends_at - given.starts_at > LONGEST:
        raise ValidationFailed(_("An event lasts at most seven days."), "ends_at")
    capacity = given.capacity
    if capacity is not None and (
        isinstance(capacity, bool)
        or not isinstance(capacity, int)
        or not 1 <= capacity <= CAPACITY_MAX
    ):
        raise ValidationFailed(
            _("Give a number of places from 1, or none."), "capacity"
        )
    description = (given.description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        raise ValidationFailed(_("Use at most 10,000 characters."), "description")
    place, lat, lon, area = _where(given)
    return {
        "kind": given.kind,
        "title": title,
        "starts_at": given.starts_at,
        "ends_at": given.ends_at,
        "capacity": capacity,
        "description_source": description,
        "description_html": render_markdown(description) if description else "",
        "place": place,
        "lat": lat,
        "lon": lon,
        "area": area,
    }


def create_event(user, given: EventInput, tickets=()) -> Event:
    """Any signed-in resident organizes; who watches the area hears of it.

    :raises ValidationFailed: naming the field."""
    user = signed_in(user)
    fields = _checked(given, utcnow())
    event = Event(
        organizer=user,
        timezone=current_app.config["CITY_TIMEZONE"],
        status="scheduled",
        going_count=0,
        queue_counter=0,
        sequence=0,
        **fields,
    )
    db.session.add(event)
    for link in tickets:
        link.event = event
        db.session.add(link)
    hearing.created(event)
    db.session.commit()
    return event


def get_event(event_id: int) -> Event:
    event = db.session.get(Event, event_id)
    if event is None:
        raise NotFound(_("There is no event %(id)s.", id=event_id), "event")
    return event


def may_manage(user, event: Event) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return event.organizer_id == user.id or has_role(user, "moderator", event.area)


def _managed(user, event_id: int) -> Event:
    event = get_event(event_id)
    if not may_manage(signed_in(user), event):
        raise PermissionDenied(_("Only the organizer can do this."))
    return event


def update_event(user, event_id: int, given: EventInput) -> Event:
    """Change an event; a new time, place or capacity reaches the calendars (its
    SEQUENCE goes up), and a new time or place whoever answered.

    :raises Conflict: the event was cancelled or is over."""
    event = _managed(user, event_id)
    if event.status != "scheduled":
        raise Conflict(_("This event is %(status)s.", status=event.status), "event")
    fields = _checked(given, utcnow())
    if fields["capacity"] is not None and fields["capacity"] < event.going_count:
        raise ValidationFailed(
            _("%(n)d people are going already.", n=event.going_count), "capacity"
        )
    time = (fields["starts_at"], fields["ends_at"]) != (event.starts_at, event.ends_at)
    place = (fields["place"], fields["lat"], fields["lon"]) != (
        event.place,
        event.lat,
        event.lon,
    )
    for name, value in fields.items():
        setattr(event, name, value)
    event.sequence += 1
    event.updated_at = utcnow()
    if time:  # a new start: the reminder is due again, before it
        db.session.execute(
            update(Rsvp).where(Rsvp.event_id == event.id).values(reminded_at=None)
        )
    if time or place:
        hearing.moved(event, user, time, place)
    _promote(event, user)  # more places: the waitlist moves up
    db.session.commit()
    return event


def cancel_event(user, event_id: int) -> Event:
    """Cancel; whoever answered is told. :raises Conflict: cancelled already."""
    event = _managed(user, event_id)
    if event.status == "cancelled":
        raise Conflict(_("This event is cancelled already."), "event")
    event.status = "cancelled"
    event.sequence += 1
    event.updated_at = utcnow()
    hearing.cancelled(event, user)
    db.session.commit()
    return event


def _lock(event_id: int) -> Event:
    """Take the event's row for this transaction (PostgreSQL: a row lock; SQLite:
    the write lock), so RSVPs to one event are answered one after another."""
    db.session.execute(
        update(Event).where(Event.id == event_id).values(updated_at=utcnow())
    )
    event = db.session.get(Event, event_id, populate_existing=True)
    if event is None:
        raise NotFound(_("There is no event %(id)s.", id=event_id), "event")
    return event


def _promote(event: Event, actor) -> list[Rsvp]:
    """Seats free: the first in line go, and are told (``actor`` freed the seats)."""
    promoted = []
    while event.capacity is None or event.going_count < event.capacity:
        first = db.session.scalar(
            select(Rsvp)
            .where(Rsvp.event_id == event.id, Rsvp.state == "waitlisted")
            .order_by(Rsvp.queue_number)
            .limit(1)
        )
        if first is None:
            break
        first.state, first.updated_at = "going", utcnow()
        event.going_count += 1
        promoted.append(first)
    hearing.promoted(event, promoted, actor)
    return promoted


def rsvp(user, event_id: int, going: bool) -> tuple[Rsvp, list[Rsvp]]:
    """Answer for oneself; answers (the RSVP, whoever was promoted by it).

    :raises Conflict: the event is cancelled or over.
    """
    user = signed_in(user)
    event = _lock(event_id)
    if event.status == "cancelled":
        raise Conflict(_("This event is cancelled."), "event")
    if event.status == "done" or event.ends_at <= utcnow():
        raise Conflict(_("This event is over."), "event")
    answer = db.session.scalar(
        select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.user_id == user.id)
    )
    was = answer.state if answer else None
    promoted: list[Rsvp] = []
    if going and was in ("going", "waitlisted"):
        db.session.commit()  # asked again: nothing changes, the place is kept
        return answer, promoted
    if not going and was in (None, "not_going"):
        if answer is None:
            answer = _new_answer(event, user, "not_going")
        db.session.commit()
        return answer, promoted
    if going:
        full = event.capacity is not None and event.going_count >= event.capacity
        state = "waitlisted" if full else "going"
        if answer is None:
            answer = _new_answer(event, user, state)
        else:
            event.queue_counter += 1
            answer.state, answer.queue_number = state, event.queue_counter
        if state == "going":
            event.going_count += 1
    else:
        answer.state = "not_going"
        if was == "going":
            event.going_count -= 1
            promoted = _promote(event, user)
    answer.updated_at = utcnow()
    db.session.commit()
    return answer, promoted


def _new_answer(event: Event, user, state: str) -> Rsvp:
    event.queue_counter += 1
    answer = Rsvp(
        event=event, user_id=user.id, state=state, queue_number=event.queue_counter
    )
    db.session.add(answer)
    return answer


def _waiting(event: Event, before: int | None = None) -> int:
    """How many wait in line (ahead of ``before``, a queue number, if given)."""
    query = (
        select(func.count())
        .select_from(Rsvp)
        .where(Rsvp.event_id == event.id, Rsvp.state == "waitlisted")
    )
    if before is not None:
        query = query.where(Rsvp.queue_number < before)
    return db.session.scalar(query)


def counts(event: Event) -> dict:
    # Sent after every answer: one count, not every RSVP loaded.
    waitlisted = _waiting(event)
    return {
        "event": event.id,
        "going": event.going_count,
        "waitlisted": waitlisted,
        "capacity": event.capacity,
        "status": event.status,
    }


def answer_of(user, event: Event) -> Rsvp | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(
        select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.user_id == user.id)
    )


def waitlist_position(answer: Rsvp) -> int:
    return 1 + _waiting(answer.event, answer.queue_number)


def list_events(
    area: Area | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[Event]:
    """Events starting within the range (from now on by default), soonest first."""
    query = select(Event).where(Event.ends_at >= (since or utcnow()))
    if until is not None:
        query = query.where(Event.starts_at < until)
    if area is not None:
        query = query.where(Event.area_id == area.id)
    if kind:
        query = query.where(Event.kind == kind)
    return list(db.session.scalars(query.order_by(Event.starts_at).limit(limit)))


def attendees(user, event_id: int) -> tuple[Event, list[Rsvp]]:
    """The organizer's list: going first, then the waitlist in order."""
    event = _managed(user, event_id)
    order = {"going": 0, "waitlisted": 1, "not_going": 2}
    rows = sorted(event.rsvps, key=lambda r: (order[r.state], r.queue_number))
    return event, rows


def check_in(user, event_id: int, rsvp_id: int, present: bool = True) -> Rsvp:
    event = _managed(user, event_id)
    answer = db.session.get(Rsvp, rsvp_id)
    if answer is None or answer.event_id != event.id or answer.state != "going":
        raise NotFound(_("That person is not on the list."), "rsvp")
    answer.checked_in_at = utcnow() if present else None
    db.session.commit()
    return answer


def my_answers(user) -> list[Rsvp]:
    user = signed_in(user)
    return list(
        db.session.scalars(
            select(Rsvp)
            .join(Event)
            .where(Rsvp.user_id == user.id, Rsvp.state.in_(("going", "waitlisted")))
            .order_by(Event.starts_at)
        )
    )


def finish_past_events(now=None) -> int:
    """Scheduled events that have ended become ``done`` (the worker's pass)."""
    done = db.session.execute(
        update(Event)
        .where(Event.status == "scheduled", Event.ends_at < (now or utcnow()))
        .values(status="done")
    ).rowcount
    db.session.commit()
    return done
