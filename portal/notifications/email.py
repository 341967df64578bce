"""Email at once: the duty that mails each notification marked ``email_now`` after
its commit, one mail per person and pass (the handover is portal.notifications.
mailing's).

The guarantee, honestly: at most once per notification, retried when the mail was
never handed over. A pass claims rows (``email_claim``, ``email_claimed_until``)
and commits; per person it opens the SMTP envelope (MAIL FROM, RCPT TO), then
commits ``email_handed_at`` and only then sends the message (DATA). A worker that
dies before that commit leaves a claim that expires and is taken again; one that
dies after it leaves the row handed, closed later as ``unsure`` and never sent
again, since SMTP cannot say whether the message got through. A server that
refuses (a 4xx reply, or no connection at all) releases the rows with a backoff;
a 5xx reply or too many refusals closes them as ``failed``. A refusal is known
for certain; only a connection cut during DATA is ``unsure``. Whatever the mail's
fate, the notification stays on the site.
"""

import logging
from collections import Counter
from datetime import timedelta

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import and_, case, or_, select, update

from portal.dbtypes import utcnow
from portal.duties import Budget, Duty, register_duty
from portal.extensions import db
from portal.notifications.kinds import kinds
from portal.notifications.mailing import (
    SETTINGS,
    Names,
    Outgoing,
    Person,
    Postman,
    Refused,
    backoff,
    claim_token,
    compose,
    language_of,
    mail_context,
    mail_enabled,
    mail_rows,
    people,
    sections,
    visible,
)
from portal.notifications.models import Notification
from portal.notifications.unsubscribe import token_for

log = logging.getLogger(__name__)


def _pending(now):
    max_age = timedelta(seconds=float(current_app.config["NOTIFICATIONS_MAIL_MAX_AGE"]))
    return and_(
        Notification.email_now.is_(True),
        Notification.emailed_at.is_(None),
        Notification.email_handed_at.is_(None),
        Notification.read_at.is_(None),
        or_(
            Notification.email_claimed_until.is_(None),
            Notification.email_claimed_until <= now,
        ),
        Notification.created_at >= now - max_age,
    )


def close_settled(now) -> int:
    """Close what will not be mailed: read on the site first, too old, or handed by
    a worker that died before it could say how it went (``unsure``)."""
    max_age = timedelta(seconds=float(current_app.config["NOTIFICATIONS_MAIL_MAX_AGE"]))
    closed = db.session.execute(
        update(Notification)
        .where(
            Notification.email_now.is_(True),
            Notification.emailed_at.is_(None),
            or_(
                Notification.email_claimed_until.is_(None),
                Notification.email_claimed_until <= now,
            ),
            or_(
                Notification.read_at.is_not(None),
                Notification.email_handed_at.is_not(None),
                Notification.created_at < now - max_age,
            ),
        )
        .values(
            emailed_at=now,
            email_outcome=case(
                (Notification.email_handed_at.is_not(None), "unsure"),
                (Notification.read_at.is_not(None), "read"),
                else_="stale",
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return closed


def claim(now, token: str) -> dict[int, list[int]]:
    """Claim the notifications due by email, oldest first: ``{recipient: [ids]}``
    (committed, so another worker passes them by)."""
    config = current_app.config
    due = db.session.scalars(
        select(Notification.id)
        .where(_pending(now))
        .order_by(Notification.id)
        .limit(int(config["NOTIFICATIONS_MAIL_BATCH"]))
    ).all()
    if not due:
        return {}
    lease = now + timedelta(seconds=float(config["NOTIFICATIONS_MAIL_LEASE"]))
    taken = db.session.execute(
        update(Notification)
        .where(Notification.id.in_(due), _pending(now))
        .values(email_claim=token, email_claimed_until=lease)
        .returning(Notification.id, Notification.recipient_id)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    claimed: dict[int, list[int]] = {}
    for number, recipient in sorted(taken):
        claimed.setdefault(recipient, []).append(number)
    return claimed


def _finish(ids: list[int], now, outcome: str) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(emailed_at=now, email_outcome=outcome, email_claimed_until=None)
        .execution_options(synchronize_session=False)
    )


def _hand(ids: list[int], token: str, now) -> bool:
    held = db.session.execute(
        update(Notification)
        .where(
            Notification.id.in_(ids),
            Notification.email_claim == token,
            Notification.email_handed_at.is_(None),
            Notification.emailed_at.is_(None),
        )
        .values(email_handed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if held == len(ids):
        return True
    # Part of it went to another worker meanwhile: they send it all, this pass none.
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.email_claim == token)
        .values(email_handed_at=None, email_claim=None)
        .execution_options(synchronize_session=False)
    )
    return False


def _refused(ids: list[int], now, refusal: Refused) -> None:
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids))
        .values(
            email_attempts=Notification.email_attempts + 1,
            email_handed_at=None,
            email_claim=None,
        )
        .execution_options(synchronize_session=False)
    )
    limit = int(current_app.config["NOTIFICATIONS_MAIL_ATTEMPTS"])
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.id.in_(ids))
        .execution_options(populate_existing=True)
    )
    for row in rows:
        if refusal.permanent or row.email_attempts >= limit:
            row.emailed_at, row.email_outcome = now, "failed"
        else:
            row.email_claimed_until = now + backoff(row.email_attempts)
    db.session.commit()
    log.warning("mail of %s notifications refused: %s", len(ids), refusal.reason)


def _one_mail(person: Person, rows: list[Notification], names: Names) -> Outgoing:
    parts, _more = sections(rows, names)
    if len(rows) == 1:
        subject = names.sentence(rows[0])[:150]
    else:
        subject = _("%(count)s new notifications", count=len(rows))
    known = kinds()
    groups = sorted({known[r.kind].group for r in rows if r.kind in known})
    return compose(
        person,
        subject,
        _("Hello %(name)s, this just happened:", name=person.display_name),
        parts,
        token_for(person.id, "email_now", groups),
        why=_("You get these at once because your settings ask for them."),
    )


def send_due(now=None, budget: Budget | None = None) -> Counter:
    """One pass of "email at once": each person's claimed notifications in one mail.

    :param now: the moment the pass takes as now (tests move it; default: now).
    :returns: how many mails ended how (``sent``, ``refused``, ``unsure``...).
    """
    now = now or utcnow()
    tally: Counter = Counter()
    tally["closed"] = close_settled(now)
    token = claim_token()
    claimed = claim(now, token)
    if not claimed:
        return tally
    recipients, names = people(claimed), Names()
    languages = language_of(claimed)
    postman = Postman()
    try:
        with mail_context():
            for recipient, ids in claimed.items():
                if budget is not None and budget.spent():
                    break  # the rest is released below, for the next pass
                rows = mail_rows(Notification.id.in_(ids))
                person = recipients.get(recipient)
                if person is None:  # the account went, and its rows with it
                    continue
                shown, hidden = visible(person, rows)
                if hidden:
                    postman.later(
                        lambda h=[r.id for r in hidden]: _finish(h, now, "hidden")
                    )
                if not shown:
                    tally["hidden"] += 1
                    continue
                ids = [row.id for row in shown]
                with force_locale(languages[recipient]):
                    message = _one_mail(person, shown, names)
                try:
                    outcome = postman.deliver(
                        message, lambda i=ids: _hand(i, token, now)
                    )
                except Refused as refusal:
                    _refused(ids, now, refusal)
                    outcome = "refused"
                if outcome in ("sent", "unsure"):
                    postman.later(lambda i=ids, o=outcome: _finish(i, now, o))
                tally[outcome] += 1
    finally:
        postman.close()
        release(token)
    return tally


def release(token: str) -> None:
    """Give back what a pass claimed and did not reach."""
    db.session.execute(
        update(Notification)
        .where(
            Notification.email_claim == token,
            Notification.email_handed_at.is_(None),
            Notification.emailed_at.is_(None),
        )
        .values(email_claim=None, email_claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _duty(budget: Budget) -> str | None:
    tally = send_due(budget=budget)
    sent = tally["sent"]
    trouble = tally["refused"] + tally["unsure"]
    if not (sent or trouble):
        return None
    return f"notification mail: {sent} sent, {trouble} refused or unsure"


def register(app: Flask) -> None:
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    register_duty(
        app,
        Duty(
            "notification-mail",
            _duty,
            every="NOTIFICATIONS_MAIL_INTERVAL",
            enabled=mail_enabled,
        ),
    )
