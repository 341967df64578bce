"""Threads (one forum per area), posts with their edit history, flags, and the
moderators' audit log."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db


class Thread(db.Model):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_area_listing", "area_id", "last_post_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"))
    # The ticket this thread is about (one thread per ticket), if any.
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), unique=True
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(String(200))
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    unlisted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_post_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    post_count: Mapped[int] = mapped_column(Integer, default=0)

    area = relationship("Area")
    ticket = relationship("Ticket")
    author = relationship("User")


class Post(db.Model):
    __tablename__ = "posts"
    __table_args__ = (Index("ix_posts_thread_order", "thread_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(10), default="user")  # user | system
    # What the author wrote (Markdown) and what pages show (sanitized on write).
    source: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_reason: Mapped[str | None] = mapped_column(String(500))
    # Hidden by flags and waiting for a moderator (rather than hidden by one).
    held: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    thread: Mapped[Thread] = relationship()
    author = relationship("User")
    revisions: Mapped[list["PostRevision"]] = relationship(
        back_populates="post", order_by="PostRevision.id", cascade="all, delete-orphan"
    )


class PostRevision(db.Model):
    """One edit: who, when, and the text before and after."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    editor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    old_source: Mapped[str] = mapped_column(Text)
    new_source: Mapped[str] = mapped_column(Text)
    old_title: Mapped[str | None] = mapped_column(String(200))
    new_title: Mapped[str | None] = mapped_column(String(200))

    post: Mapped[Post] = relationship(back_populates="revisions")
    editor = relationship("User")


FLAG_REASONS = ("spam", "abuse", "off_topic", "private", "other")


class PostFlag(db.Model):
    """One resident's flag on a post (at most one each), until a moderator decides."""

    __tablename__ = "post_flags"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    reason: Mapped[str] = mapped_column(String(20))  # one of FLAG_REASONS
    text: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a moderator dealt with the flag (approved, hid, deleted or dismissed).
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    post: Mapped[Post] = relationship()
    user = relationship("User")


class ModerationEntry(db.Model):
    """One moderator action: who, when, what, why, and the state before and after."""

    __tablename__ = "moderation_log"
    __table_args__ = (
        Index("ix_moderation_log_target", "target_type", "target_id"),
        Index("ix_moderation_log_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    # The name at the time, so the log still reads when the account is gone.
    actor_name: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))
    target_type: Mapped[str] = mapped_column(String(10))  # post | thread | user
    target_id: Mapped[int] = mapped_column(Integer)
    area_id: Mapped[int | None] = mapped_column(
        ForeignKey("areas.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str | None] = mapped_column(String(500))
    before: Mapped[dict] = mapped_column(JSON, default=dict)
    after: Mapped[dict] = mapped_column(JSON, default=dict)

    actor = relationship("User")
    area = relationship("Area")
