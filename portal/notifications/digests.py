"""Digests by the worker: daily or weekly, at the hour each person chose in the
city's zone, grouped by item with the newest first; never empty; each period once.

A period is the local date a digest is due (``d2026-12-05`` daily, ``w…`` the
chosen weekday's date for weekly). A due digest is claimed by inserting its
``digest_runs`` row, unique per person and period, and in the same transaction
the person's digest notifications written before the due hour that are unread and
in no digest yet are attached to it: each notification goes into one digest at
most, and a notification written after the hour waits for the next period. The
mail is then handed over as portal.notifications.email does it, so the guarantee
is the same: at most once per period; a run whose claim expired before the mail
was handed to SMTP (a crash, a refusal) is taken again with the same contents; a
run cut off during the handover is ``unsure`` and never sent again. A digest
whose notifications were all read (or hidden) meanwhile is ``empty``, not sent.
"""

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Flask, current_app
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.dbtypes import utcnow
from portal.duties import Budget, Duty, register_duty
from portal.extensions import db
from portal.i18n import city_zone
from portal.notifications import mailing
from portal.notifications.kinds import GROUPS
from portal.notifications.models import DigestRun, DigestSchedule, Notification
from portal.notifications.settings import CHUNK
from portal.notifications.unsubscribe import token_for

log = logging.getLogger(__name__)

SETTINGS = {
    "NOTIFICATIONS_DIGEST_INTERVAL": 60.0,  # seconds between looks for due digests
    "NOTIFICATIONS_DIGEST_LOOKBACK_DAYS": 8,  # older unsent rows are left out
    "NOTIFICATIONS_DIGEST_BATCH": 200,  # runs claimed per round of a pass
    "NOTIFICATIONS_DIGEST_ITEMS": 20,  # items a digest shows (the rest: counted)
}
DEFAULT_SCHEDULE = ("daily", 7, 0)
RUNS = DigestRun.__table__  # Core statements: cheap enough for one a mail


def period_of(now: datetime, frequency: str, hour: int, weekday: int):
    """The latest period due at ``now``: (key, the due moment in UTC)."""
    zone = city_zone()
    local = now.astimezone(zone)
    if frequency == "weekly":
        back = (local.weekday() - weekday) % 7
        day = local.date() - timedelta(days=back)
        if back == 0 and local.hour < hour:
            day -= timedelta(days=7)
        prefix = "w"
    else:
        day = local.date() if local.hour >= hour else local.date() - timedelta(days=1)
        prefix = "d"
    return f"{prefix}{day.isoformat()}", _at(day, hour, zone)


def _at(day: date, hour: int, zone) -> datetime:
    # A wall-clock hour the clocks skip (spring forward) falls an hour later, as
    # zoneinfo reads it; one they repeat counts once (its first time).
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(zone)


def _lookback(now: datetime) -> datetime:
    days = int(current_app.config["NOTIFICATIONS_DIGEST_LOOKBACK_DAYS"])
    return now - timedelta(days=days)


def _waiting(now: datetime):
    return (
        Notification.digest.is_(True),
        Notification.digest_run_id.is_(None),
        Notification.read_at.is_(None),
        Notification.created_at >= _lookback(now),
    )


def due_people(now: datetime) -> dict[int, tuple[str, datetime]]:
    """Whoever has a digest due at ``now`` with something in it: ``{user: (period,
    due moment)}``, periods already claimed left out. A handful of queries per 500
    people."""
    oldest = dict(
        db.session.execute(
            select(Notification.recipient_id, func.min(Notification.created_at))
            .where(*_waiting(now))
            .group_by(Notification.recipient_id)
        ).all()
    )
    people = sorted(oldest)
    due: dict[int, tuple[str, datetime]] = {}
    for start in range(0, len(people), CHUNK):
        chunk = people[start : start + CHUNK]
        schedules = {
            row.user_id: (row.frequency, row.hour, row.weekday)
            for row in db.session.scalars(
                select(DigestSchedule).where(DigestSchedule.user_id.in_(chunk))
            )
        }
        found = {}
        for person in chunk:
            period, at = period_of(now, *schedules.get(person, DEFAULT_SCHEDULE))
            if oldest[person] < at:  # something written before the hour
                found[person] = (period, at)
        if not found:
            continue
        taken = db.session.execute(
            select(DigestRun.user_id, DigestRun.period).where(
                DigestRun.user_id.in_(sorted(found)),
                DigestRun.period.in_({period for period, _at in found.values()}),
            )
        ).all()
        for person, period in taken:
            if found.get(person, (None,))[0] == period:
                del found[person]
        due.update(found)
    return due


def _insert_runs(rows: list[dict]) -> dict[int, int]:
    """Insert runs, those whose period is claimed already left out: ``{user:
    run id}`` of the new ones."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(RUNS)
        .on_conflict_do_nothing(index_elements=["user_id", "period"])
        .returning(RUNS.c.user_id, RUNS.c.id)
    )
    return dict(db.session.execute(statement, rows).all())


def claim(now: datetime, token: str, due: dict) -> list[int]:
    """Claim these due digests, each with its notifications, in one transaction
    and a few statements for the whole batch: the ids of the runs to send.
    Another worker's claim of the same period holds the unique key; this pass
    then passes the person by.

    :param due: ``{user: (period, due moment)}`` (see :func:`due_people`).
    """
    if not due:
        return []
    lease = now + timedelta(
        seconds=float(current_app.config["NOTIFICATIONS_MAIL_LEASE"])
    )
    common = {"state": "claimed", "claim": token, "claimed_until": lease}
    made = _insert_runs(
        [
            {**common, "user_id": who, "period": period, "due_at": at}
            | {"attempts": 0, "items": 0, "created_at": now}
            for who, (period, at) in due.items()
        ]
    )
    if not made:
        db.session.commit()
        return []
    # Each person's new run, and its due moment, found from the row itself.
    run = select(RUNS.c.id).where(
        RUNS.c.user_id == Notification.recipient_id, RUNS.c.id.in_(made.values())
    )
    due_at = select(RUNS.c.due_at).where(
        RUNS.c.user_id == Notification.recipient_id, RUNS.c.id.in_(made.values())
    )
    for start in range(0, len(made), CHUNK):
        people = sorted(made)[start : start + CHUNK]
        db.session.execute(
            update(Notification)
            .where(
                Notification.recipient_id.in_(people),
                *_waiting(now),
                Notification.created_at < due_at.scalar_subquery(),
            )
            .values(digest_run_id=run.scalar_subquery())
            .execution_options(synchronize_session=False)
        )
    ids = sorted(made.values())
    told = (
        select(func.count())
        .where(Notification.digest_run_id == RUNS.c.id)
        .scalar_subquery()
    )
    db.session.execute(RUNS.update().where(RUNS.c.id.in_(ids)).values(items=told))
    db.session.execute(
        RUNS.update().where(RUNS.c.id.in_(ids), RUNS.c.items == 0).values(state="empty")
    )
    claimed = db.session.scalars(
        select(RUNS.c.id).where(RUNS.c.id.in_(ids), RUNS.c.state == "claimed")
    ).all()
    db.session.commit()
    return sorted(claimed)


def retake_expired(now: datetime, token: str, limit: int) -> list[int]:
    """Runs whose claim expired before their mail was handed over (a crashed
    worker, a refusal's backoff over): claimed again for this pass. Runs left
    handed by a worker that died are closed as ``unsure``."""
    db.session.execute(
        update(DigestRun)
        .where(DigestRun.state == "handed", DigestRun.claimed_until <= now)
        .values(state="unsure")
    )
    expired = db.session.scalars(
        select(DigestRun.id)
        .where(DigestRun.state == "claimed", DigestRun.claimed_until <= now)
        .order_by(DigestRun.id)
        .limit(limit)
    ).all()
    taken = []
    if expired:
        lease = now + timedelta(
            seconds=float(current_app.config["NOTIFICATIONS_MAIL_LEASE"])
        )
        taken = db.session.scalars(
            update(DigestRun)
            .where(
                DigestRun.id.in_(expired),
                DigestRun.state == "claimed",
                DigestRun.claimed_until <= now,
            )
            .values(claim=token, claimed_until=lease)
            .returning(DigestRun.id)
        ).all()
    db.session.commit()
    return sorted(taken)


def _hand(run_id: int, token: str) -> bool:
    handed = db.session.execute(
        RUNS.update()
        .where(RUNS.c.id == run_id, RUNS.c.claim == token, RUNS.c.state == "claimed")
        .values(state="handed")
    )
    return handed.rowcount == 1


def _close(run_id: int, state: str, now: datetime) -> None:
    db.session.execute(
        RUNS.update()
        .where(RUNS.c.id == run_id)
        .values(state=state, sent_at=now if state == "sent" else None)
    )


def _refused(run_id: int, now: datetime, refusal: mailing.Refused) -> None:
    run = db.session.get(DigestRun, run_id, populate_existing=True)
    run.attempts += 1
    run.claim, run.last_error = None, refusal.reason
    limit = int(current_app.config["NOTIFICATIONS_MAIL_ATTEMPTS"])
    if refusal.permanent or run.attempts >= limit:
        run.state = "failed"
    else:
        run.state, run.claimed_until = "claimed", now + mailing.backoff(run.attempts)
    db.session.commit()
    log.warning("digest %s refused: %s", run.id, refusal.reason)


def _message(person: mailing.Person, period: str, rows: list, names: mailing.Names):
    limit = int(current_app.config["NOTIFICATIONS_DIGEST_ITEMS"])
    parts, more = mailing.sections(rows, names, limit=limit)
    subject = (
        ngettext("Your week: %(num)s new", "Your week: %(num)s new", len(rows))
        if period.startswith("w")
        else ngettext("Your day: %(num)s new", "Your day: %(num)s new", len(rows))
    )
    return mailing.compose(
        person,
        subject,
        _(
            "Hello %(name)s, here is what happened since your last digest, "
            "newest first.",
            name=person.display_name,
        ),
        parts,
        token_for(person.id, "digest", GROUPS),
        more=more,
        why=_("You get this digest because your notification settings ask for it."),
    )


@dataclass
class Batch:
    """What a batch of runs needs, read in four queries, not four per digest."""

    periods: dict[int, tuple[int, str]]
    people: dict[int, mailing.Person]
    languages: dict[int, str]
    rows: dict[int, list]


def _batch(run_ids: list[int]) -> Batch:
    periods = {
        row.id: (row.user_id, row.period)
        for row in db.session.execute(
            select(DigestRun.id, DigestRun.user_id, DigestRun.period).where(
                DigestRun.id.in_(run_ids)
            )
        )
    }
    users = [user for user, _period in periods.values()]
    rows: dict[int, list] = {}
    for row in mailing.mail_rows(
        Notification.digest_run_id.in_(run_ids), Notification.read_at.is_(None)
    ):
        rows.setdefault(row.digest_run_id, []).append(row)
    return Batch(periods, mailing.people(users), mailing.language_of(users), rows)


def _send(postman: mailing.Postman, run_id: int, batch: Batch, token, now, names):
    user_id, period = batch.periods.get(run_id, (None, None))
    person = batch.people.get(user_id)
    if person is None:
        return "gone"
    shown, _hidden = mailing.visible(person, batch.rows.get(run_id, []))
    if not shown:  # all read or hidden since the claim: an empty digest never goes
        postman.later(lambda: _close(run_id, "empty", now))
        return "empty"
    with force_locale(batch.languages[person.id]):
        message = _message(person, period, shown, names)
    try:
        outcome = postman.deliver(message, lambda: _hand(run_id, token))
    except mailing.Refused as refusal:
        _refused(run_id, now, refusal)
        return "refused"
    if outcome in ("sent", "unsure"):
        postman.later(lambda: _close(run_id, outcome, now))
    return outcome


def send_digests(now: datetime | None = None, budget: Budget | None = None) -> Counter:
    """One pass: take again the runs whose claim expired, then claim what is due
    and send it, a batch at a time, until all is sent or the budget is spent.

    :param now: the moment taken as now (tests pass one; default: now).
    :returns: how many runs ended how (``sent``, ``empty``, ``refused``...).
    """
    now = now or utcnow()
    tally: Counter = Counter()
    token, names = mailing.claim_token(), mailing.Names()
    limit = int(current_app.config["NOTIFICATIONS_DIGEST_BATCH"])
    postman = mailing.Postman()
    try:
        with mailing.mail_context():
            batches = [lambda: retake_expired(now, token, limit)]
            due = list(due_people(now).items())
            for start in range(0, len(due), limit):
                chosen = dict(due[start : start + limit])
                batches.append(lambda chosen=chosen: claim(now, token, chosen))
            for take in batches:
                run_ids = take()
                batch = _batch(run_ids) if run_ids else None
                for run_id in run_ids:
                    if budget is not None and budget.spent():
                        return tally  # claims left are released below
                    tally[_send(postman, run_id, batch, token, now, names)] += 1
    finally:
        postman.close()
        _release(token, now)
    return tally


def _release(token: str, now: datetime) -> None:
    """Claims a pass made and did not reach go back: taken again at once."""
    db.session.execute(
        update(DigestRun)
        .where(DigestRun.claim == token, DigestRun.state == "claimed")
        .values(claim=None, claimed_until=now)
    )
    db.session.commit()


def _duty(budget: Budget) -> str | None:
    tally = send_digests(budget=budget)
    if not (tally["sent"] or tally["refused"] or tally["unsure"]):
        return None
    return (
        f"digests: {tally['sent']} sent, {tally['empty']} empty, "
        f"{tally['refused'] + tally['unsure']} refused or unsure"
    )


def register(app: Flask) -> None:
    for key, value in {**mailing.SETTINGS, **SETTINGS}.items():
        app.config.setdefault(key, value)
    register_duty(
        app,
        Duty(
            "notification-digests",
            _duty,
            every="NOTIFICATIONS_DIGEST_INTERVAL",
            enabled=mailing.mail_enabled,
        ),
    )
