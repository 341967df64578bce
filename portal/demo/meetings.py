"""Demo meetings: a past Kensington block meeting with minutes to draft requests
from, and the next one on the calendar."""

from datetime import timedelta

from sqlalchemy import select

from portal.areas.models import Area
from portal.auth import services as auth
from portal.dbtypes import utcnow
from portal.extensions import db
from portal.liaisons import services as meetings
from portal.liaisons.models import Meeting

MINUTES = """Twenty-two neighbors came; the district's liaison joined by phone.

Action items:
- Graffiti on the wall at 3000 Kensington Ave, third time this month
- Streetlight out at 2nd & Lehigh Ave since the storm
- Trash piled in the alley behind 2700 Frankford Ave
- Vacant lot overgrown with weeds at 2nd & Cecil B Moore Ave
- Thank the rec center for hosting
"""


def load_meetings(progress) -> None:
    """Once: the demo liaison's past and next meeting in Kensington."""
    area = db.session.scalar(select(Area).where(Area.slug == "kensington"))
    if area is None or db.session.scalar(select(Meeting.id).limit(1)):
        return
    progress("demo: meetings…")
    liaison = auth.get_user_by_email("liaison@example.org")
    past = meetings.create_meeting(
        liaison,
        area,
        "Kensington block meeting",
        utcnow() - timedelta(days=14),
        "McPherson Square Library",
        ["Welcome", "Street lights", "Alley trash", "Cleanup day"],
    )
    meetings.publish_minutes(liaison, past.id, MINUTES, 22)
    meetings.create_meeting(
        liaison,
        area,
        "Kensington block meeting",
        utcnow() + timedelta(days=14),
        "McPherson Square Library",
        ["What happened to what we filed", "Spring cleanup"],
    )
