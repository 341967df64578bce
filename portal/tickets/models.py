"""Ticket (one per city request), its events, the city's services, sync marks."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

# held: the city gave the same server error to this submission again and again, so an
# admin looks before it is sent again; confirming: its answer was lost at a city that
# hides new requests from listings, so it waits for the city to show it (never re-posted
# blind).
SEND_STATES = (
    "queued", "sending", "sent", "rejected", "failed", "held", "confirming",
)  # fmt: skip


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_outbox", "send_state", "next_attempt_at"),
        Index("ix_tickets_status_lat_lon", "status", "lat", "lon"),
        Index("ix_tickets_requested_at", "requested_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The portal's own reference, written into what the city stores, so a submission
    # whose answer was lost can be found again instead of being sent twice.
    ref: Mapped[str | None] = mapped_column(String(20), unique=True)
    city_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    token: Mapped[str | None] = mapped_column(String(64), index=True)
    service_code: Mapped[str] = mapped_column(String(64))
    service_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(30), default="open")
    status_notes: Mapped[str | None] = mapped_column(Text)
    agency: Mapped[str | None] = mapped_column(String(200))
    service_notice: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("areas.id", ondelete="SET NULL"), index=True
    )
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    media_url: Mapped[str | None] = mapped_column(String(500))
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    city_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    expected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(
        String(20), default="web"
    )  # web|api|batch|city
    send_state: Mapped[str | None] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the latest POST of it left: requests the city accepted after this are what
    # a listing must show before an answer lost here counts as "not stored".
    last_posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Set before every POST and cleared by its answer: if set, the city may hold the
    # request already, and the sender looks for it before posting again.
    maybe_stored: Mapped[bool] = mapped_column(Boolean, default=False)
    # How many answers in a row were the city's same server error (its words in
    # last_error): a submission the city cannot take is held, not retried to the end.
    same_errors: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "Me too": how many residents have the same problem.
    supporters: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Raised by the database with every change to the row, its events or its photos
    # (portal/map/stamps.py): the ticket page's validator in one read.
    revision: Mapped[int] = mapped_column(
        Integer, server_default="0", server_onupdate=FetchedValue()
    )

    area = relationship("Area")
    filed_by = relationship("User")
    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list["TicketPhoto"]] = relationship(
        back_populates="ticket", order_by="TicketPhoto.id", cascade="all, delete-orphan"
    )


class TicketEvent(db.Model):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # filed | sent | token | rejected | retrying | failed | requeued | status
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10))  # sender | sync | push | admin
    old_status: Mapped[str | None] = mapped_column(String(30))
    new_status: Mapped[str | None] = mapped_column(String(30))
    notes: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class CityService(db.Model):
    """The city's service list and definitions, as last fetched."""

    __tablename__ = "city_services"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    group: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    keywords: Mapped[list] = mapped_column(JSON, default=list)
    type: Mapped[str] = mapped_column(String(20), default="realtime")
    metadata_: Mapped[bool] = mapped_column("metadata", Boolean, default=False)
    attributes: Mapped[list] = mapped_column(JSON, default=list)
    # Why the definition (the questions) could not be read last time, for admins; the
    # service stays usable without questions meanwhile.
    definition_error: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SyncState(db.Model):
    """How far the sync has read the city's requests."""

    __tablename__ = "sync_states"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    high_water: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class _ResidentMark:
    """One resident's mark on one ticket (at most one of each kind)."""

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketFollow(_ResidentMark, db.Model):
    """A resident following a ticket (told of its changes)."""

    __tablename__ = "ticket_follows"


class TicketSupport(_ResidentMark, db.Model):
    """A resident's "me too" on a ticket."""

    __tablename__ = "ticket_supports"


class TicketPhoto(db.Model):
    """A photo re-encoded by the portal (EXIF removed), with its thumbnail."""

    __tablename__ = "ticket_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), index=True
    )
    # Random, so photo addresses cannot be guessed in sequence.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="photos")
