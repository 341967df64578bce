"""Health: each worker duty's last pass, kept in the database, and `/healthz`, which
tells a load balancer or a monitor whether this web process can serve."""

import logging
from datetime import datetime, timedelta

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import String, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from portal.dbtypes import UTCDateTime, utcnow
from portal.extensions import db

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


class WorkerPass(db.Model):
    """The latest pass of one duty, by whichever worker ran it."""

    __tablename__ = "worker_passes"

    duty: Mapped[str] = mapped_column(String(60), primary_key=True)
    worker: Mapped[str] = mapped_column(String(120))
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def record_pass(duty: str, worker: str, ok: bool) -> None:
    """Note a finished pass in its own transaction (the duty's own is over)."""
    for attempt in (1, 2):
        try:
            row = db.session.get(WorkerPass, duty) or WorkerPass(duty=duty)
            row.worker = worker[:120]
            if ok:
                row.last_ok_at = utcnow()
            else:
                row.last_failed_at = utcnow()
            db.session.add(row)
            db.session.commit()
            return
        except IntegrityError:
            # Another worker wrote the duty's first row meanwhile: update that one.
            db.session.rollback()
            if attempt == 2:
                log.warning("the pass of duty %s could not be recorded", duty)
        except Exception:  # the record is a report: losing one never stops a worker
            db.session.rollback()
            log.exception("the pass of duty %s could not be recorded", duty)
            return


def _database() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:
        log.exception("health: the database does not answer")
        return False
    finally:
        db.session.rollback()


def _redis() -> str:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return "unused"
    import redis

    try:
        client = redis.Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        try:
            client.ping()
        finally:
            client.close()
        return "ok"
    except Exception as error:
        log.warning("health: Redis does not answer (%s)", error)
        return "failing"


def _worker() -> str:
    """ok: some duty passed lately; stale: none has within WORKER_STALE_AFTER."""
    try:
        newest = db.session.execute(
            db.select(db.func.max(WorkerPass.last_ok_at))
        ).scalar()
    except Exception:
        log.exception("health: the worker's passes cannot be read")
        return "failing"
    finally:
        db.session.rollback()
    if newest is None:
        return "stale"
    limit = timedelta(seconds=float(current_app.config["WORKER_STALE_AFTER"]))
    return "ok" if utcnow() - newest <= limit else "stale"


@bp.get("/healthz")
def healthz():
    """503 "failing" when this process cannot serve (the database or Redis does not
    answer); 200 "degraded" when it can but no worker has passed lately (pages work,
    nothing reaches the city: a monitor should page someone, a balancer keep
    sending); 200 "ok". No details leak: each check says ok, failing, stale or
    unused, and the reasons go to the log."""
    checks = {
        "database": "ok" if _database() else "failing",
        "redis": _redis(),
        "worker": _worker(),
    }
    if checks["database"] != "ok" or checks["redis"] == "failing":
        status = "failing"
    elif checks["worker"] != "ok":
        status = "degraded"
    else:
        status = "ok"
    response = jsonify({"status": status, "checks": checks})
    response.status_code = 503 if status == "failing" else 200
    response.headers["Cache-Control"] = "no-store"
    return response


def init_health(app: Flask) -> None:
    from portal.extensions import limiter

    # A monitor polls often, from one address: never rate-limited.
    limiter.exempt(bp)
    app.register_blueprint(bp)
