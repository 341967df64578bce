"""Database engine settings: SQLite in WAL mode, shared well by web and worker;
PostgreSQL without parallel plans."""

from flask import Flask
from sqlalchemy import event

from portal.extensions import db


def _sqlite_pragmas(connection, _record):
    cursor = connection.cursor()
    # WAL lets pages read while the worker writes; NORMAL syncs at checkpoints, not at
    # every commit, and stays durable against a crashed process. Wait for a busy writer.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Map queries read scattered rows: memory-mapped pages and a larger cache spare a
    # system call per page (see bench.map_queries).
    cursor.execute("PRAGMA mmap_size=1073741824")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _postgresql_settings(connection, _record):
    cursor = connection.cursor()
    # The portal's queries are small index reads; on these machines parallel workers
    # made them several times slower at p95 (DESIGN.md), never faster.
    cursor.execute("SET max_parallel_workers_per_gather = 0")
    cursor.close()
    connection.commit()


def _pool_options(app: Flask) -> None:
    """Size each process's pool for its concurrency: greenlets wait for a connection
    of their own (never share one); a wait past the timeout is answered 503."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
        return  # one connection per thread by design
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_size", int(app.config["DATABASE_POOL_SIZE"]))
    options.setdefault("max_overflow", int(app.config["DATABASE_MAX_OVERFLOW"]))
    options.setdefault("pool_timeout", float(app.config["DATABASE_POOL_TIMEOUT"]))
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def init_database(app: Flask) -> None:
    _pool_options(app)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        elif db.engine.dialect.name == "postgresql":
            event.listen(db.engine, "connect", _postgresql_settings)
