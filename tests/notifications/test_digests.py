"""Digests through a real SMTP server on loopback: at the hour each person chose in
the city's zone, daily or weekly; never empty; grouped by item with the newest
first; each period once across repeated passes and a crashed worker."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from portal.extensions import db, mail
from portal.notifications import digests, services, settings
from portal.notifications.models import DigestRun, Notification
from tests.auth.inbox import html, mails, text
from tests.mailbox import inbox  # noqa: F401
from tests.notifications.conftest import told

CITY = ZoneInfo("America/New_York")
PUBLIC = "https://portal.example.org"
LEASE = timedelta(seconds=300)


@pytest.fixture
def mail_on(app, inbox):  # noqa: F811 (the fixture imported above)
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=inbox.port,
        MAIL_DEFAULT_SENDER="portal@example.org",
        PUBLIC_URL=PUBLIC,
        CITY_TIMEZONE="America/New_York",
    )
    mail.init_app(app)
    return inbox


@pytest.fixture
def ann(make_user):
    return make_user(name="Ann", email="ann@example.org")


@pytest.fixture
def bo(make_user):
    return make_user(name="Bo", email="bo@example.org")


def local(text_: str) -> datetime:
    """A wall-clock time in the city (Philadelphia), aware."""
    return datetime.fromisoformat(text_).replace(tzinfo=CITY)


def reply(who, actor, at: datetime, item=1, title="Broken streetlight", change=None):
    """A reply in a watched thread, written at ``at``: "threads" go to the digest
    (and not by email at once) by default."""
    services.notify(
        "reply",
        item=("note", item),
        recipients=[who],
        actor=actor,
        values={"title": title},
        change=change or at.isoformat(),
    )
    db.session.execute(
        update(Notification)
        .where(Notification.dedupe_key.endswith(change or at.isoformat()))
        .values(created_at=at)
    )
    db.session.commit()


def test_a_daily_digest_goes_at_the_chosen_hour_in_the_citys_zone(mail_on, ann, bo):
    settings.save_settings(ann, digest={"frequency": "daily", "hour": 7})
    reply(ann, bo, local("2026-12-04T10:00"))
    # 07:30 UTC is 02:30 in Philadelphia: not yet, nor a minute before seven.
    assert digests.send_digests(local("2026-12-05T02:30"))["sent"] == 0
    assert digests.send_digests(local("2026-12-05T06:59"))["sent"] == 0
    assert digests.send_digests(local("2026-12-05T07:00:30"))["sent"] == 1
    (message,) = mails(mail_on, "ann@example.org")
    assert message["Subject"] == "Your day: 1 new"
    assert "Bo replied in Broken streetlight" in text(message)
    assert "Bo replied in Broken streetlight" in html(message)
    # The time is the city's: 10:00 AM there, 3 PM in UTC.
    assert re.search(r"December 4, 2026, 10:00:00\sAM", text(message))
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert (
        message["List-Unsubscribe"]
        .strip()
        .startswith(f"<{PUBLIC}/notifications/unsubscribe/")
    )


def test_weekly_goes_on_the_chosen_weekday_and_daily_every_day(mail_on, ann, bo):
    # 2026-12-09 is a Wednesday (weekday 2).
    settings.save_settings(
        ann, digest={"frequency": "weekly", "hour": 18, "weekday": 2}
    )
    settings.save_settings(bo, digest={"frequency": "daily", "hour": 8})
    reply(ann, bo, local("2026-12-07T09:00"))  # a Monday
    reply(bo, ann, local("2026-12-07T09:00"))
    tuesday = digests.send_digests(local("2026-12-08T19:00"))
    assert tuesday["sent"] == 1
    assert [len(mails(mail_on, a)) for a in ("ann@example.org", "bo@example.org")] == [
        0,
        1,
    ]
    assert digests.send_digests(local("2026-12-09T17:59"))["sent"] == 0
    assert digests.send_digests(local("2026-12-09T18:01"))["sent"] == 1
    (weekly,) = mails(mail_on, "ann@example.org")
    assert weekly["Subject"] == "Your week: 1 new"


def test_an_empty_digest_is_never_sent(mail_on, ann, bo, make_user):
    cy = make_user(name="Cy", email="cy@example.org")
    reply(ann, bo, local("2026-12-04T10:00"))
    services.mark_all_read(ann)  # seen on the site already
    services.notify(  # emailed at once, not in the digest
        "mention", item=("note", 3), recipients=[cy], actor=bo, change="m"
    )
    db.session.commit()
    assert digests.send_digests(local("2026-12-05T07:05"))["sent"] == 0
    assert mail_on.messages == []
    assert db.session.scalars(select(DigestRun)).all() == []


def test_grouped_by_item_newest_first_and_the_rest_counted(app, mail_on, ann, bo):
    reply(ann, bo, local("2026-12-04T08:00"), item=1, title="Streetlight")
    reply(ann, bo, local("2026-12-04T09:00"), item=2, title="Tires")
    reply(ann, bo, local("2026-12-04T10:00"), item=1, title="Streetlight")
    reply(ann, bo, local("2026-12-04T11:00"), item=3, title="Graffiti")
    app.config["NOTIFICATIONS_DIGEST_ITEMS"] = 2
    assert digests.send_digests(local("2026-12-05T07:05"))["sent"] == 1
    (message,) = mails(mail_on, "ann@example.org")
    body = text(message)
    # Items in the order of their newest: Graffiti (11:00), Streetlight (10:00);
    # Tires (9:00) is past the two shown and counted instead.
    assert body.index("== Graffiti ==") < body.index("== Streetlight ==")
    assert "== Tires ==" not in body
    assert "1 more notification is waiting on the site" in body
    section = body[body.index("== Streetlight ==") :]
    assert section.index("10:00:00") < section.index(" 8:00:00")
    assert message["Subject"] == "Your day: 4 new"


def test_each_period_goes_once_across_two_runs(mail_on, ann, bo):
    reply(ann, bo, local("2026-12-04T10:00"))
    assert digests.send_digests(local("2026-12-05T07:01"))["sent"] == 1
    assert digests.send_digests(local("2026-12-05T07:02"))["sent"] == 0
    # Written after the hour: it waits for tomorrow's, and is not in today's.
    reply(ann, bo, local("2026-12-05T09:00"), title="Later")
    assert digests.send_digests(local("2026-12-05T21:00"))["sent"] == 0
    assert digests.send_digests(local("2026-12-06T07:01"))["sent"] == 1
    first, second = mails(mail_on, "ann@example.org")
    assert "Later" not in text(first)
    assert "Later" in text(second) and "Broken streetlight" not in text(second)


def test_a_crashed_claim_is_taken_again_and_sent_once(mail_on, ann, bo):
    reply(ann, bo, local("2026-12-04T10:00"))
    now = local("2026-12-05T07:01")
    # A worker claims the period, then dies before handing the mail over.
    (run_id,) = digests.claim(now, "a-worker-that-died", digests.due_people(now))
    assert digests.send_digests(now)["sent"] == 0  # its claim still holds
    assert mails(mail_on, "ann@example.org") == []
    assert digests.send_digests(now + LEASE + timedelta(seconds=1))["sent"] == 1
    assert digests.send_digests(now + LEASE * 4)["sent"] == 0
    (message,) = mails(mail_on, "ann@example.org")
    assert "Broken streetlight" in text(message)
    run = db.session.get(DigestRun, run_id)
    db.session.refresh(run)
    assert (run.state, run.period, run.items) == ("sent", "d2026-12-05", 1)


def test_a_crash_during_the_handover_is_never_sent_again(mail_on, ann, bo):
    reply(ann, bo, local("2026-12-04T10:00"))
    now = local("2026-12-05T07:01")
    (run_id,) = digests.claim(now, "a-worker-that-died", digests.due_people(now))
    db.session.execute(
        update(DigestRun).where(DigestRun.id == run_id).values(state="handed")
    )
    db.session.commit()
    assert digests.send_digests(now + LEASE * 2)["sent"] == 0
    assert digests.send_digests(local("2026-12-06T07:01"))["sent"] == 0
    assert mails(mail_on, "ann@example.org") == []
    run = db.session.get(DigestRun, run_id)
    db.session.refresh(run)
    assert run.state == "unsure"
    # Its notifications stay on the site, and in no second digest.
    assert [row.digest_run_id for row in told(ann)] == [run_id]


def test_one_click_from_a_digest_stops_digests(client, mail_on, ann, bo):
    reply(ann, bo, local("2026-12-04T10:00"))
    digests.send_digests(local("2026-12-05T07:01"))
    (message,) = mails(mail_on, "ann@example.org")
    path = message["List-Unsubscribe"].strip().strip("<>").removeprefix(PUBLIC)
    assert client.post(path, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    for channels in settings.settings_of(ann)["groups"].values():
        assert channels["digest"] is False
    reply(ann, bo, local("2026-12-05T10:00"))  # written by the old settings' rules
    assert digests.send_digests(local("2026-12-06T07:01"))["sent"] == 0


def test_the_period_of_a_moment(app):
    app.config["CITY_TIMEZONE"] = "America/New_York"
    period, due = digests.period_of(local("2026-12-05T06:00"), "daily", 7, 0)
    assert (period, due) == ("d2026-12-04", local("2026-12-04T07:00"))
    period, due = digests.period_of(local("2026-12-09T18:00"), "weekly", 18, 2)
    assert (period, due) == ("w2026-12-09", local("2026-12-09T18:00"))
    period, _due = digests.period_of(local("2026-12-09T17:00"), "weekly", 18, 2)
    assert period == "w2026-12-02"
