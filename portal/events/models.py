"""Neighborhood events (cleanups, meetings, socials), RSVPs with a waitlist, and the
tickets a cleanup takes on."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

KINDS = ("cleanup", "meeting", "social", "other")
STATUSES = ("scheduled", "cancelled", "done")


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_area_start", "area_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    organizer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(200))
    description_source: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float] = mapped_column()
    lon: Mapped[float] = mapped_column()
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    # Kept under the event's row lock, so capacity holds with RSVPs at once.
    going_count: Mapped[int] = mapped_column(Integer, default=0)
    queue_counter: Mapped[int] = mapped_column(Integer, default=0)
    # Calendar SEQUENCE: goes up when the time, place or status changes.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area = relationship("Area")
    organizer = relationship("User")
    rsvps: Mapped[list["Rsvp"]] = relationship(
        back_populates="event",
        order_by="Rsvp.queue_number",
        cascade="all, delete-orphan",
    )


class Rsvp(db.Model):
    """One person's answer: going, waitlisted (in arrival order) or not going."""

    __tablename__ = "rsvps"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id"),
        Index("ix_rsvps_waitlist", "event_id", "state", "queue_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(12))  # going | waitlisted | not_going
    # The event's counter when this answer arrived: the waitlist's order.
    queue_number: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="rsvps")
    user = relationship("User")


class CleanupTicket(db.Model):
    """A city ticket a cleanup takes on, and what the organizer reports after."""

    __tablename__ = "cleanup_tickets"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    outcome: Mapped[str | None] = mapped_column(String(12))  # cleaned | not_cleaned
    note: Mapped[str | None] = mapped_column(String(1000))
    before_photo: Mapped[str | None] = mapped_column(String(64))  # photo keys
    after_photo: Mapped[str | None] = mapped_column(String(64))
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship()
    ticket = relationship("Ticket")
