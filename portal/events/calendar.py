"""Calendar files (icalendar): one event, an area's feed, a person's feed of their
RSVPs. Cancelled or moved events keep their UID with a higher SEQUENCE, so
calendar apps update them instead of adding copies."""

from flask import current_app, url_for
from icalendar import Calendar, vGeo
from icalendar import Event as CalendarEvent
from itsdangerous import BadSignature, URLSafeSerializer

from portal.dbtypes import utcnow
from portal.events.models import Event

PRODUCT = "-//Neighborhood Portal//Events//EN"


def _uid(event: Event, host: str) -> str:
    return f"event-{event.id}@{host}"


def _entry(event: Event, host: str) -> CalendarEvent:
    entry = CalendarEvent()
    entry.add("uid", _uid(event, host))
    entry.add("dtstamp", utcnow())
    entry.add("last-modified", event.updated_at)
    entry.add("dtstart", event.starts_at)
    entry.add("dtend", event.ends_at)
    entry.add("summary", event.title)
    entry.add("location", event.place)
    entry.add("geo", vGeo((event.lat, event.lon)))
    entry.add("description", event.description_source or "")
    entry.add("url", url_for("events.show", event_id=event.id, _external=True))
    entry.add("sequence", event.sequence)
    entry.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    entry.add("categories", [event.kind])
    return entry


def calendar(events: list[Event], name: str, host: str) -> bytes:
    """A VCALENDAR with these events, ready to serve as text/calendar."""
    cal = Calendar()
    cal.add("prodid", PRODUCT)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", current_app.config["CITY_TIMEZONE"])
    for event in events:
        cal.add_component(_entry(event, host))
    return cal.to_ical()


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="calendar-feed")


def feed_token(user) -> str:
    """A private, stable token naming the person's feed (calendar apps cannot sign
    in); a new SECRET_KEY retires every token."""
    return _signer().dumps(user.id)


def user_for_feed(token: str) -> int | None:
    try:
        value = _signer().loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None
