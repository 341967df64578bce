"""Meeting rules: who organizes (captains and liaisons of the area), the agenda,
the minutes, drafts taken from them, and what became of what a meeting filed."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from portal.areas.models import Area
from portal.auth.services import areas_for_role, has_role
from portal.dbtypes import utcnow
from portal.errors import NotFound, PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.forums.services import signed_in
from portal.liaisons import drafts as draft_rules
from portal.liaisons import hearing
from portal.liaisons.models import Batch, BatchRow, Draft, Meeting
from portal.sanitize import render_markdown
from portal.tickets.filing import MAX_DESCRIPTION, active_service
from portal.tickets.models import Ticket

ORGANIZER_ROLES = ("captain", "liaison")
TITLE_MAX = 200
PLACE_MAX = 300
AGENDA_ITEMS_MAX = 50
ITEM_MAX = 1000
MINUTES_MAX = 20_000  # the sanitizer's pinned worst case holds up to here
FARTHEST = timedelta(days=5 * 366)


def organizes(user, area: Area) -> bool:
    """A captain or liaison of the area (or an admin)."""
    return any(has_role(user, role, area) for role in ORGANIZER_ROLES)


def organizer_areas(user) -> list[Area]:
    """The areas the user may organize meetings and file batches for."""
    found = {}
    for role in ORGANIZER_ROLES:
        for area in areas_for_role(user, role):
            found[area.id] = area
    return sorted(found.values(), key=lambda area: area.name)


def require_organizer(user, area: Area):
    user = signed_in(user)
    if not organizes(user, area):
        raise PermissionDenied(
            _("Only the area's captains and liaisons can do this."), "area"
        )
    return user


def _text(value, field: str, limit: int, message: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ValidationFailed(message, field)
    if len(value) > limit:
        raise ValidationFailed(_("Use at most %(n)d characters.", n=limit), field)
    return value


def _agenda(items) -> list[str]:
    if isinstance(items, str):
        items = draft_rules.items_of(items)
    items = [" ".join(str(item).split()) for item in items or [] if str(item).strip()]
    if len(items) > AGENDA_ITEMS_MAX:
        raise ValidationFailed(_("Keep the agenda to 50 items."), "agenda")
    if any(len(item) > ITEM_MAX for item in items):
        raise ValidationFailed(_("Keep each item under 1,000 characters."), "agenda")
    return items


def create_meeting(user, area: Area, title, starts_at, place, agenda) -> Meeting:
    """Plan a meeting; who watches the area hears of it.

    :raises PermissionDenied: not a captain or liaison of the area.
    :raises ValidationFailed: naming title, starts_at, place or agenda."""
    user = require_organizer(user, area)
    title = _text(title, "title", TITLE_MAX, _("Name the meeting."))
    place = _text(place, "place", PLACE_MAX, _("Say where it meets."))
    if not isinstance(starts_at, datetime) or starts_at.tzinfo is None:
        raise ValidationFailed(_("Give the date and time."), "starts_at")
    if abs(starts_at - utcnow()) > FARTHEST:
        raise ValidationFailed(_("Choose a date within five years."), "starts_at")
    meeting = Meeting(
        area=area,
        created_by=user,
        title=title,
        starts_at=starts_at,
        place=place,
        agenda=_agenda(agenda),
    )
    db.session.add(meeting)
    hearing.meeting_created(meeting)
    db.session.commit()
    return meeting


def get_meeting(meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None:
        raise NotFound(_("There is no meeting %(id)s.", id=meeting_id), "meeting")
    return meeting


def publish_minutes(user, meeting_id: int, minutes: str, attendees) -> Meeting:
    """Minutes (Markdown, sanitized) and how many came; publishing again replaces.
    Who watches the area hears of the first publication."""
    meeting = get_meeting(meeting_id)
    require_organizer(user, meeting.area)
    minutes = (minutes or "").strip()
    if not minutes:
        raise ValidationFailed(_("Write the minutes first."), "minutes")
    if len(minutes) > MINUTES_MAX:
        raise ValidationFailed(_("Use at most 20,000 characters."), "minutes")
    if isinstance(attendees, bool) or not isinstance(attendees, int):
        raise ValidationFailed(_("Give the number of people who came."), "attendees")
    if not 0 <= attendees <= 100_000:
        raise ValidationFailed(_("Give a number from 0 to 100,000."), "attendees")
    meeting.minutes_source = minutes
    meeting.minutes_html = render_markdown(minutes)
    meeting.attendees = attendees
    meeting.minutes_published_at = utcnow()
    hearing.minutes_published(meeting, user)
    db.session.commit()
    return meeting


def area_meetings(area: Area) -> tuple[list[Meeting], list[Meeting]]:
    """(upcoming soonest first, past latest first)."""
    rows = list(
        db.session.scalars(
            select(Meeting)
            .where(Meeting.area_id == area.id)
            .order_by(Meeting.starts_at)
        )
    )
    now = utcnow()
    upcoming = [m for m in rows if m.starts_at >= now]
    past = [m for m in reversed(rows) if m.starts_at < now]
    return upcoming, past


def make_drafts(user, meeting_id: int) -> list[Draft]:
    """Drafts from the agenda and the minutes' items that name a problem and a place
    (an item already drafted is not drafted again). Returns the meeting's drafts."""
    meeting = get_meeting(meeting_id)
    require_organizer(user, meeting.area)
    known = {draft.source_text for draft in meeting.drafts}
    items = list(meeting.agenda or []) + draft_rules.items_of(
        meeting.minutes_source or ""
    )
    for item in dict.fromkeys(items):
        if item in known:
            continue
        found = draft_rules.suggest(item)
        if found.service_code is None or found.place is None:
            continue
        meeting.drafts.append(
            Draft(
                source_text=item,
                service_code=found.service_code,
                place_text=found.place_text,
                address=found.place.label,
                lat=found.place.lat,
                lon=found.place.lon,
                description=item[:MAX_DESCRIPTION],
            )
        )
    db.session.commit()
    return [draft for draft in meeting.drafts if draft.state == "draft"]


def update_draft(user, draft_id: int, service_code, address, description) -> Draft:
    """The liaison's corrections before filing; a changed address is geocoded again
    when the batch is filed."""
    draft = db.session.get(Draft, draft_id)
    if draft is None or draft.state != "draft":
        raise NotFound(_("There is no draft %(id)s.", id=draft_id), "draft")
    require_organizer(user, draft.meeting.area)
    draft.service_code = active_service(service_code).code
    address = " ".join((address or "").split())
    if address != (draft.address or ""):
        draft.address, draft.lat, draft.lon = address or None, None, None
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed(_("Use at most 4,000 characters."), "description")
    draft.description = description
    db.session.commit()
    return draft


def drop_draft(user, draft_id: int) -> None:
    draft = db.session.get(Draft, draft_id)
    if draft is None or draft.state != "draft":
        raise NotFound(_("There is no draft %(id)s.", id=draft_id), "draft")
    require_organizer(user, draft.meeting.area)
    draft.state = "dropped"
    db.session.commit()


@dataclass
class FollowUpLine:
    ticket: Ticket
    how: str  # filed | me_too
    days_open: int


def follow_up(meeting: Meeting) -> list[FollowUpLine]:
    """Every ticket filed (or supported) from the meeting, with its city status."""
    rows = db.session.execute(
        select(BatchRow.outcome, Ticket)
        .join(Batch, Batch.id == BatchRow.batch_id)
        .join(Ticket, Ticket.id == BatchRow.ticket_id)
        .where(Batch.meeting_id == meeting.id)
        .order_by(Ticket.id)
    )
    now = utcnow()
    lines, seen = [], set()
    for how, ticket in rows:
        if ticket.id in seen:
            continue
        seen.add(ticket.id)
        start = ticket.requested_at or ticket.created_at
        end = now if ticket.status == "open" else ticket.city_updated_at or now
        lines.append(FollowUpLine(ticket, how, max(0, (end - start).days)))
    return lines


def previous_meeting(meeting: Meeting) -> Meeting | None:
    """The area's latest earlier meeting that filed tickets: its follow-up belongs
    on this meeting's agenda."""
    return db.session.scalar(
        select(Meeting)
        .where(
            Meeting.area_id == meeting.area_id,
            Meeting.starts_at < meeting.starts_at,
            Meeting.id.in_(
                select(Batch.meeting_id).where(Batch.meeting_id.is_not(None))
            ),
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )
