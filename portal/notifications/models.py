"""Notification (one per recipient and change, with its email state), Watch (what
a person follows or watches), each person's settings per group and channel, their
digest runs and the key of their private feeds."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class Notification(db.Model):
    """One thing one person is told. ``dedupe_key`` names the change (kind, item and
    the change's own identity): the same change reaching the portal twice (a sync
    repeated, a push then a pull, a retried request) is one row."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("recipient_id", "dedupe_key"),
        Index("ix_notifications_recipient_read", "recipient_id", "read_at"),
        Index("ix_notifications_recipient_created", "recipient_id", "created_at"),
        # What the mail duties look for: email not done yet, digest rows in no run.
        Index("ix_notifications_email_due", "email_now", "emailed_at"),
        # Run first: it also serves a run's rows and the foreign key's checks.
        Index(
            "ix_notifications_digest_due",
            "digest_run_id",
            "digest",
            "recipient_id",
            "created_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(40))
    item_type: Mapped[str] = mapped_column(String(20))
    item_id: Mapped[int] = mapped_column(Integer)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The words' values (a title, a status, the city's note), so the page renders
    # without asking the item's domain.
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    url: Mapped[str | None] = mapped_column(String(500))
    dedupe_key: Mapped[str] = mapped_column(String(255))
    # The channels it goes to, from the recipient's settings when it was written.
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)
    email_now: Mapped[bool] = mapped_column(Boolean, default=False)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Email at once (portal.notifications.email): claimed by a worker until a moment
    # (or held back until then after a refusal), handed to SMTP, then done with an
    # outcome: sent, unsure (lost mid-handover: never sent again), failed, stale,
    # read (seen on the site first) or hidden (no longer visible to its recipient).
    email_claim: Mapped[str | None] = mapped_column(String(64))
    email_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_outcome: Mapped[str | None] = mapped_column(String(10))
    email_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The digest it went into (portal.notifications.digests): in one at most.
    digest_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("digest_runs.id", ondelete="SET NULL")
    )


WATCH_KINDS = ("thread", "event", "area", "point")


class Watch(db.Model):
    """A person following an item (a thread, an event), watching an area, or a
    circle around a point. A point watch keeps its bounding box, so new tickets find
    their watchers with one range query."""

    __tablename__ = "watches"
    __table_args__ = (
        # Points have no item: NULLs never collide, so a person may keep several.
        UniqueConstraint("user_id", "kind", "item_id"),
        Index("ix_watches_kind_item", "kind", "item_id"),
        Index("ix_watches_box", "kind", "min_lat", "max_lat"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))
    item_id: Mapped[int | None] = mapped_column(Integer)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[int | None] = mapped_column(Integer)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    min_lon: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(80))
    # A watch someone has by default (a captain's own area) and turned off.
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationSetting(db.Model):
    """One person's choice for one group of kinds; no row: the group's defaults."""

    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    group: Mapped[str] = mapped_column(String(20), primary_key=True)
    in_app: Mapped[bool] = mapped_column(Boolean)
    email_now: Mapped[bool] = mapped_column(Boolean)
    digest: Mapped[bool] = mapped_column(Boolean)


DIGEST_FREQUENCIES = ("daily", "weekly")


class DigestSchedule(db.Model):
    """When a person's digest goes: daily or weekly, at an hour of the city's day
    (and a weekday, 0 Monday, for weekly). No row: daily at 7."""

    __tablename__ = "digest_schedules"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    frequency: Mapped[str] = mapped_column(String(10), default="daily")
    hour: Mapped[int] = mapped_column(Integer, default=7)
    weekday: Mapped[int] = mapped_column(Integer, default=0)
    # The language mails are written in: the one the settings were saved in (None:
    # the portal's default).
    language: Mapped[str | None] = mapped_column(String(10))


DIGEST_STATES = ("claimed", "handed", "sent", "empty", "unsure", "failed")


class DigestRun(db.Model):
    """One person's digest for one period (``d2026-12-05`` daily, ``w2026-12-07``
    weekly: the local date it is due), claimed before it is built: the unique key is
    what makes a period go once. ``claimed`` until ``claimed_until`` (a crashed or
    refused one is taken again after it), ``handed`` while SMTP has it, then
    ``sent``, ``empty`` (nothing left to tell), ``unsure`` (lost mid-handover: never
    sent again) or ``failed`` (refused for good)."""

    __tablename__ = "digest_runs"
    __table_args__ = (
        UniqueConstraint("user_id", "period"),
        Index("ix_digest_runs_state", "state", "claimed_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(10), default="claimed")
    claim: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    items: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FeedKey(db.Model):
    """The changeable part of a person's private feed address: a reset draws a new
    one and every address made with the old one stops working. No row: the first."""

    __tablename__ = "feed_keys"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(32))
    reset_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
