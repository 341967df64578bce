"""The sandbox city's own tables (plain SQLAlchemy, apart from the portal)."""

import threading
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    Index,
    String,
    Text,
    create_engine,
    event,
    false,
    inspect,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator


class _UTC(TypeDecorator):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return (
            value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        )


class Base(DeclarativeBase):
    pass


class CityRequest(Base):
    __tablename__ = "sandbox_requests"
    __table_args__ = (
        Index("ix_sandbox_updated", "updated", "id"),
        Index("ix_sandbox_requested", "requested"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Batch services know a request only by its token until it is processed.
    public_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    token: Mapped[str | None] = mapped_column(String(64), unique=True)
    resolves_at: Mapped[datetime | None] = mapped_column(_UTC)
    service_code: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(20), default="open")
    status_notes: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    agency: Mapped[str | None] = mapped_column(String(120))
    service_notice: Mapped[str | None] = mapped_column(String(300))
    requested: Mapped[datetime] = mapped_column(_UTC)
    updated: Mapped[datetime] = mapped_column(_UTC)
    expected: Mapped[datetime | None] = mapped_column(_UTC)
    address: Mapped[str | None] = mapped_column(String(300))
    zipcode: Mapped[str | None] = mapped_column(String(10))
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    media_url: Mapped[str | None] = mapped_column(String(500))
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    contact: Mapped[dict] = mapped_column(JSON, default=dict)
    channel: Mapped[str] = mapped_column(String(20), default="open311")
    # Held back from GET answers until the city's staff publish it (a dialect).
    hidden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Store:
    """The sandbox's engine and sessions; one writer at a time on SQLite."""

    def __init__(self, url: str):
        options = {}
        if url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        self.engine = create_engine(url, **options)
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.session = sessionmaker(self.engine, expire_on_commit=False)
        self.write_lock = threading.Lock()
        # A stand-in server's schema: created, not migrated (it holds only demo data).
        Base.metadata.create_all(self.engine)
        _add_missing_columns(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()


def _add_missing_columns(engine) -> None:
    """Add columns newer than an existing sandbox.db (create_all adds only tables)."""
    table = CityRequest.__table__
    have = {column["name"] for column in inspect(engine).get_columns(table.name)}
    for column in table.columns:
        if column.name in have:
            continue
        kind = column.type.compile(engine.dialect)
        default = column.server_default.arg.compile(engine).string
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(
                    f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind} "
                    f"NOT NULL DEFAULT {default}"
                )
        except DBAPIError:
            # Another process sharing the file may have added it first.
            names = {c["name"] for c in inspect(engine).get_columns(table.name)}
            if column.name not in names:
                raise


def _sqlite_pragmas(connection, _record):
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
