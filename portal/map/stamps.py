"""Change marks kept by the database: a stamp per kind of public answer, and a
revision per ticket, that in-process memos key their answers with.

``change_stamps`` holds one row per name (``tickets``: what GET /api/v1/tickets
answers); triggers bump it in the same transaction as every change to what such an
answer shows or filters on, and never for the columns it does not (the sender writes
``send_state`` and its kin all day). ``tickets.revision`` moves with every change to
the ticket's row, history or photos: the ticket page's validator in one read.

A stamp never repeats: a missing row (a fresh or emptied table) starts again from
the current time in microseconds, past any count it held before (short of a bump a
microsecond since its last start).

Like spatial.py, the DDL lives here so the migration and the bulk loader share it;
a change to it needs a new migration that calls ``drop`` and ``create`` again.
"""

from sqlalchemy import BigInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db

TICKETS = "tickets"
# What an answer of the map's API shows (query.SUMMARY_COLUMNS) or filters on
# (query.filtered); the cluster counts are derived from a subset of them.
MAP_COLUMNS = (
    "lat", "lon", "status", "service_code", "service_name", "address",
    "requested_at", "supporters", "description", "area_id",
)  # fmt: skip
# Rows that belong to one ticket and show on its page.
CHILDREN = ("ticket_events", "ticket_photos")
_SQLITE_STAMP_TRIGGERS = (
    "tickets_stamp_insert",
    "tickets_stamp_update",
    "tickets_stamp_delete",
)
_PG_FUNCTIONS = (
    "change_stamp_mark",
    "change_stamp_due",
    "tickets_revision",
    "ticket_child_revision",
)
_FRESH_START = {
    "sqlite": "CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER)",
    "postgresql": "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint",
}


class ChangeStamp(db.Model):
    """How many times what a kind of answer shows has changed (see the module)."""

    __tablename__ = "change_stamps"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


_READ = text("SELECT n FROM change_stamps WHERE name = :name")


def read(name: str = TICKETS) -> int | None:
    """The stamp now, or None when it has no row yet (then nothing may be memoized).

    Read it BEFORE the data an answer is made of. Each bump commits with the change
    it marks; each read sees what was committed when it ran (PostgreSQL's READ
    COMMITTED, and SQLite's reads outside a write transaction). So a commit between
    the two reads makes the stored answer newer than its stamp, which only means a
    later reader of the new stamp makes its own; read the other way round, an
    answer older than its stamp would be served until the next change.
    """
    # The session's connection, past the ORM's execution steps (on every request).
    return db.session.connection().execute(_READ, {"name": name}).scalar()


def _bump_sql(name: str, dialect: str) -> str:
    return (
        f"INSERT INTO change_stamps (name, n) VALUES ({name}, {_FRESH_START[dialect]}) "
        "ON CONFLICT (name) DO UPDATE SET n = change_stamps.n + 1"
    )


def bump(connection, name: str = TICKETS) -> None:
    """Move a stamp on by hand (after a load with the triggers suspended)."""
    sql = _bump_sql(":name", connection.dialect.name)
    connection.execute(text(sql), {"name": name})


def _sqlite_stamp_triggers() -> list[str]:
    bump_tickets = _bump_sql(f"'{TICKETS}'", "sqlite")
    columns = ", ".join(MAP_COLUMNS)
    changed = " OR ".join(f"old.{c} IS NOT new.{c}" for c in MAP_COLUMNS)
    insert, update, delete = _SQLITE_STAMP_TRIGGERS
    return [
        f"CREATE TRIGGER {insert} AFTER INSERT ON tickets BEGIN {bump_tickets}; END",
        f"CREATE TRIGGER {update} AFTER UPDATE OF {columns} ON tickets "
        f"WHEN {changed} BEGIN {bump_tickets}; END",
        f"CREATE TRIGGER {delete} AFTER DELETE ON tickets BEGIN {bump_tickets}; END",
    ]


def _sqlite_revision_triggers() -> list[str]:
    # AFTER triggers writing the row again. recursive_triggers is off, and the WHEN
    # stops a loop even with it on: the inner UPDATE raises the revision. It sets
    # nothing but `revision`, so no UPDATE OF trigger (spatial, stamp) fires for it.
    statements = [
        "CREATE TRIGGER tickets_revision AFTER UPDATE ON tickets "
        "WHEN new.revision <= old.revision BEGIN "
        "UPDATE tickets SET revision = old.revision + 1 WHERE id = new.id; END"
    ]
    for child in CHILDREN:
        for event, ids in (
            ("INSERT", "new.ticket_id"),
            ("UPDATE", "old.ticket_id, new.ticket_id"),  # a row moved: both pages
            ("DELETE", "old.ticket_id"),
        ):
            statements.append(
                f"CREATE TRIGGER {child}_revision_{event.lower()} AFTER {event} "
                f"ON {child} BEGIN UPDATE tickets SET revision = revision + 1 "
                f"WHERE id IN ({ids}); END"
            )
    return statements


def _postgresql_stamp_ddl() -> list[str]:
    # A statement-level trigger marks the transaction (one row named
    # "tickets@<xid>", once, however many statements and rows); a deferred
    # trigger on that mark bumps the real row at COMMIT. Bumping at once would lock
    # the one stamp row from the first change to the commit: every other writer of
    # tickets would wait for the whole transaction (a sync page), and one holding a
    # ticket row the first wants next would deadlock with it.
    columns = ", ".join(MAP_COLUMNS)
    return [
        """
CREATE OR REPLACE FUNCTION change_stamp_mark() RETURNS trigger AS $$
BEGIN
  INSERT INTO change_stamps (name, n)
  VALUES (TG_ARGV[0] || '@' || pg_current_xact_id()::text, 0)
  ON CONFLICT (name) DO NOTHING;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
        f"""
CREATE OR REPLACE FUNCTION change_stamp_due() RETURNS trigger AS $$
BEGIN
  DELETE FROM change_stamps WHERE name = NEW.name;
  {_bump_sql("split_part(NEW.name, '@', 1)", "postgresql")};
  RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
        "CREATE CONSTRAINT TRIGGER change_stamps_due AFTER INSERT ON change_stamps "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
        "WHEN (strpos(NEW.name, '@') > 0) EXECUTE FUNCTION change_stamp_due()",
        *_postgresql_stamp_triggers(columns),
    ]


def _postgresql_stamp_triggers(columns: str) -> list[str]:
    return [
        f"CREATE TRIGGER tickets_stamp AFTER INSERT OR UPDATE OF {columns} OR DELETE "
        "OR TRUNCATE ON tickets FOR EACH STATEMENT "
        f"EXECUTE FUNCTION change_stamp_mark('{TICKETS}')"
    ]


def _postgresql_revision_ddl() -> list[str]:
    statements = [
        # greatest(): a statement that raised it already (a child's trigger) is
        # counted once; one that set it lower cannot move it back.
        """
CREATE OR REPLACE FUNCTION tickets_revision() RETURNS trigger AS $$
BEGIN
  NEW.revision := greatest(NEW.revision, OLD.revision + 1);
  RETURN NEW;
END;
$$ LANGUAGE plpgsql""",
        "CREATE TRIGGER tickets_revision BEFORE UPDATE ON tickets "
        "FOR EACH ROW EXECUTE FUNCTION tickets_revision()",
        """
CREATE OR REPLACE FUNCTION ticket_child_revision() RETURNS trigger AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE tickets SET revision = revision + 1 WHERE id = OLD.ticket_id;
  END IF;
  IF TG_OP = 'INSERT'
     OR (TG_OP = 'UPDATE' AND NEW.ticket_id IS DISTINCT FROM OLD.ticket_id) THEN
    UPDATE tickets SET revision = revision + 1 WHERE id = NEW.ticket_id;
  END IF;
  RETURN NULL;
END;
$$ LANGUAGE plpgsql""",
    ]
    for child in CHILDREN:
        statements.append(
            f"CREATE TRIGGER {child}_revision AFTER INSERT OR UPDATE OR DELETE "
            f"ON {child} FOR EACH ROW EXECUTE FUNCTION ticket_child_revision()"
        )
    return statements


def _run(connection, statements) -> None:
    for statement in statements:
        connection.execute(text(statement))


def create(connection) -> None:
    """The stamp's and the revision's triggers, and the stamp's first value."""
    if connection.dialect.name == "sqlite":
        _run(connection, _sqlite_stamp_triggers() + _sqlite_revision_triggers())
    else:
        _run(connection, _postgresql_stamp_ddl() + _postgresql_revision_ddl())
    bump(connection)


def drop(connection) -> None:
    """Every trigger and function ``create`` made (the table is the migration's)."""
    if connection.dialect.name == "sqlite":
        names = list(_SQLITE_STAMP_TRIGGERS) + ["tickets_revision"]
        names += [
            f"{child}_revision_{event}"
            for child in CHILDREN
            for event in ("insert", "update", "delete")
        ]
        _run(connection, [f"DROP TRIGGER IF EXISTS {name}" for name in names])
        return
    statements = [
        "DROP TRIGGER IF EXISTS tickets_stamp ON tickets",
        "DROP TRIGGER IF EXISTS change_stamps_due ON change_stamps",
        "DROP TRIGGER IF EXISTS tickets_revision ON tickets",
    ]
    statements += [f"DROP TRIGGER IF EXISTS {c}_revision ON {c}" for c in CHILDREN]
    statements += [f"DROP FUNCTION IF EXISTS {name}()" for name in _PG_FUNCTIONS]
    _run(connection, statements)


def suspend_stamp(connection) -> None:
    """Before a bulk load: no per-row (SQLite) or per-batch bumps; ``resume_stamp``
    bumps once after it."""
    if connection.dialect.name == "sqlite":
        names = _SQLITE_STAMP_TRIGGERS
        _run(connection, [f"DROP TRIGGER IF EXISTS {name}" for name in names])
    else:
        _run(connection, ["DROP TRIGGER IF EXISTS tickets_stamp ON tickets"])


def resume_stamp(connection) -> None:
    if connection.dialect.name == "sqlite":
        _run(connection, _sqlite_stamp_triggers())
    else:
        _run(connection, _postgresql_stamp_triggers(", ".join(MAP_COLUMNS)))
    bump(connection)
