"""Block meetings (agenda, minutes), draft tickets taken from them, and batches of
tickets a liaison files at once, row by row."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class Meeting(db.Model):
    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_area_start", "area_id", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(300))
    agenda: Mapped[list] = mapped_column(JSON, default=list)  # item texts, in order
    minutes_source: Mapped[str | None] = mapped_column(Text)
    minutes_html: Mapped[str | None] = mapped_column(Text)
    minutes_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attendees: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    area = relationship("Area")
    created_by = relationship("User")
    drafts: Mapped[list["Draft"]] = relationship(
        back_populates="meeting", order_by="Draft.id", cascade="all, delete-orphan"
    )


class Draft(db.Model):
    """One item of a meeting that names a problem and a place: a ticket to be."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    source_text: Mapped[str] = mapped_column(Text)  # the item as the minutes say it
    service_code: Mapped[str | None] = mapped_column(String(64))
    place_text: Mapped[str | None] = mapped_column(String(300))
    address: Mapped[str | None] = mapped_column(String(300))
    lat: Mapped[float | None] = mapped_column()
    lon: Mapped[float | None] = mapped_column()
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(
        String(10), default="draft"
    )  # draft|filed|dropped
    batch_row_id: Mapped[int | None] = mapped_column(
        ForeignKey("batch_rows.id", ondelete="SET NULL")
    )

    meeting: Mapped[Meeting] = relationship(back_populates="drafts")


class Batch(db.Model):
    """Tickets filed together by a liaison, from a table, a form, a CSV or the API."""

    __tablename__ = "batches"
    # A double click or a retried request names the same key: one batch, filed once.
    __table_args__ = (UniqueConstraint("created_by_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meetings.id", ondelete="SET NULL"), index=True
    )
    key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(10))  # drafts|form|csv|api
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by = relationship("User")
    meeting = relationship("Meeting")
    rows: Mapped[list["BatchRow"]] = relationship(
        back_populates="batch", order_by="BatchRow.number", cascade="all, delete-orphan"
    )


class BatchRow(db.Model):
    """One row as given, and what became of it: errors per cell, a queued ticket, or
    a "me too" on an open ticket already there."""

    __tablename__ = "batch_rows"
    __table_args__ = (UniqueConstraint("batch_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)  # 1-based, as the liaison counts
    cells: Mapped[dict] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(10))  # invalid|filed|me_too
    errors: Mapped[dict] = mapped_column(JSON, default=dict)  # column -> message
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )

    batch: Mapped[Batch] = relationship(back_populates="rows")
    ticket = relationship("Ticket")
