"""Email at once, through a real SMTP server on loopback: each notification once,
several as one mail, a crash before the handover retried and one after it never
resent, refusals retried with backoff; multipart mail with one-click unsubscribe
(RFC 8058) that works signed out, and never on a GET."""

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from portal.dbtypes import utcnow
from portal.duties import registered_duties
from portal.extensions import db, mail
from portal.notifications import email, services, settings, unsubscribe
from portal.notifications.models import Notification
from tests.auth.inbox import html, mails, text
from tests.conftest import csrf_token
from tests.mailbox import Inbox, free_port, inbox  # noqa: F401
from tests.notifications.conftest import told

PUBLIC = "https://portal.example.org"
LEASE = timedelta(seconds=300)


def mail_to(app, port: int) -> None:
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_DEFAULT_SENDER="portal@example.org",
        PUBLIC_URL=PUBLIC,
        MAIL_TIMEOUT=10.0,
    )
    mail.init_app(app)


@pytest.fixture
def mail_on(app, inbox):  # noqa: F811 (the fixture imported above)
    mail_to(app, inbox.port)
    return inbox


@pytest.fixture
def ann(make_user):
    return make_user(name="Ann", email="ann@example.org")


@pytest.fixture
def bo(make_user):
    return make_user(name="Bo", email="bo@example.org")


def mention(who, actor, item=1, change="p1", title="Broken streetlight"):
    """A mention: the group "mentions" is emailed at once by default."""
    services.notify(
        "mention",
        item=("note", item),
        recipients=[who],
        actor=actor,
        values={"title": title},
        change=change,
    )
    db.session.commit()


def now_plus(seconds=0.0):
    return utcnow() + timedelta(seconds=seconds)


def test_each_email_now_notification_is_mailed_once(mail_on, ann, bo):
    mention(ann, bo)
    first = email.send_due()
    second = email.send_due()  # the duty run twice
    assert (first["sent"], second["sent"]) == (1, 0)
    (message,) = mails(mail_on, "ann@example.org")
    assert message["Subject"] == "Bo mentioned you in Broken streetlight"
    (row,) = told(ann)
    assert (row.email_outcome, row.emailed_at is not None) == ("sent", True)
    assert mails(mail_on, "bo@example.org") == []  # the actor is told nothing


def test_several_notifications_for_one_person_go_as_one_mail(mail_on, ann, bo):
    mention(ann, bo, item=1, change="a", title="Broken streetlight")
    mention(ann, bo, item=1, change="b", title="Broken streetlight")
    mention(ann, bo, item=2, change="c", title="Dumped tires")
    assert email.send_due()["sent"] == 1
    (message,) = mails(mail_on, "ann@example.org")
    assert message["Subject"] == "3 new notifications"
    body = text(message)
    # Grouped by item, the newest item first: Dumped tires came last.
    assert body.index("== Dumped tires ==") < body.index("== Broken streetlight ==")
    assert body.count("Bo mentioned you in Broken streetlight") == 2


def test_a_mail_is_multipart_in_the_citys_zone_with_one_click_headers(
    app, mail_on, ann, bo
):
    app.config["CITY_TIMEZONE"] = "Asia/Tokyo"
    mention(ann, bo)
    email.send_due()
    (message,) = mails(mail_on, "ann@example.org")
    assert message.is_multipart()
    assert "Bo mentioned you" in text(message)
    assert "Bo mentioned you" in html(message) and "<html" in html(message)
    (row,) = told(ann)
    local = row.created_at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert f"{local.hour % 12 or 12}:{local.minute:02d}" in text(message)
    (link,) = re.findall(r"^\s*<(\S+)>$", message["List-Unsubscribe"])
    assert link.startswith(f"{PUBLIC}/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text(message)
    # On the wire: the link as it is (never RFC 2047 words), the parts 7-bit.
    (raw,) = [m.content for m in mail_on.messages]
    assert re.search(rb"\nList-Unsubscribe:\s*<https://portal\.example\.org/", raw)
    assert max(raw) < 128


def test_a_subject_in_other_letters_reads_back_whole(mail_on, ann, bo):
    mention(ann, bo, title="Café on Ñandú Street — its sign fell")
    email.send_due()
    (message,) = mails(mail_on, "ann@example.org")
    assert (
        message["Subject"] == "Bo mentioned you in Café on Ñandú Street — its sign fell"
    )
    assert "Ñandú" in text(message) and "Ñandú" in html(message)


def test_without_a_mail_server_the_duties_do_not_run(app):
    assert app.config["MAIL_SERVER"] is None  # the demo
    names = {duty.name for duty in registered_duties(app, serving=True)}
    assert not names & {"notification-mail", "notification-digests"}
    app.config["MAIL_SERVER"] = "127.0.0.1"
    names = {duty.name for duty in registered_duties(app, serving=True)}
    assert {"notification-mail", "notification-digests"} <= names


def test_a_crash_between_claim_and_send_is_retried_once_the_claim_expires(
    mail_on, ann, bo
):
    mention(ann, bo)
    now = now_plus()
    assert email.claim(now, "a-worker-that-died") == {ann.id: [told(ann)[0].id]}
    assert email.send_due(now)["sent"] == 0  # still theirs
    assert mails(mail_on, "ann@example.org") == []
    assert email.send_due(now + LEASE + timedelta(seconds=1))["sent"] == 1
    assert email.send_due(now + LEASE * 3)["sent"] == 0
    assert len(mails(mail_on, "ann@example.org")) == 1


def test_a_crash_after_the_handover_is_never_sent_again(mail_on, ann, bo):
    mention(ann, bo)
    now = now_plus()
    email.claim(now, "a-worker-that-died")
    # It committed the handover, then died before it could say how it went.
    db.session.execute(update(Notification).values(email_handed_at=now))
    db.session.commit()
    later = now + LEASE + timedelta(seconds=1)
    assert email.send_due(later)["sent"] == 0
    assert mails(mail_on, "ann@example.org") == []
    assert told(ann)[0].email_outcome == "unsure"
    assert email.send_due(later + LEASE)["sent"] == 0


class Refusing(Inbox):
    """Answers "try later" to the first ``refusals`` messages, then takes them."""

    def __init__(self, refusals: int):
        super().__init__()
        self.refusals, self.tries = refusals, 0

    async def handle_DATA(self, server, session, envelope):
        self.tries += 1
        if self.tries <= self.refusals:
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


class Dropping(Inbox):
    """Takes the message in, then hangs up before answering (as a server that
    crashes at that moment would): the sender cannot know it was delivered."""

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        server.transport.close()
        return "250 OK"


@pytest.fixture
def serve(app):
    controllers = []

    def start(handler):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        mail_to(app, controller.port)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


def test_a_refusing_server_is_retried_with_backoff_and_mails_once(serve, ann, bo):
    server = serve(Refusing(refusals=1))
    mention(ann, bo)
    now = now_plus()
    tally = email.send_due(now)
    assert tally["refused"] == 1, tally
    (row,) = told(ann)
    assert (row.email_attempts, row.emailed_at, row.email_handed_at) == (1, None, None)
    assert email.send_due(now + timedelta(seconds=30))["refused"] == 0  # backing off
    assert server.tries == 1
    assert email.send_due(now + timedelta(seconds=61))["sent"] == 1
    assert email.send_due(now + timedelta(seconds=600))["sent"] == 0
    assert (server.tries, len(server.messages)) == (2, 1)


def test_a_permanent_refusal_is_given_up(serve, ann, bo):
    class Rejecting(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, options):
            return "550 5.1.1 No such mailbox"

    serve(Rejecting())
    mention(ann, bo)
    assert email.send_due()["refused"] == 1
    assert told(ann)[0].email_outcome == "failed"
    assert email.send_due(now_plus(7200))["refused"] == 0


def test_an_unreachable_server_loses_nothing(app, ann, bo, inbox):  # noqa: F811
    mail_to(app, free_port())  # nobody listens there
    mention(ann, bo)
    now = now_plus()
    assert email.send_due(now)["refused"] == 1
    mail_to(app, inbox.port)
    assert email.send_due(now + timedelta(seconds=61))["sent"] == 1
    assert len(mails(inbox, "ann@example.org")) == 1


def test_a_connection_cut_during_data_is_not_sent_twice(serve, ann, bo):
    server = serve(Dropping())
    mention(ann, bo)
    now = now_plus()
    assert email.send_due(now)["unsure"] == 1
    assert email.send_due(now + LEASE * 2)["sent"] == 0
    assert len(server.messages) == 1  # it did arrive: a retry would have doubled it
    assert told(ann)[0].email_outcome == "unsure"


def test_what_was_read_on_the_site_first_is_not_mailed(mail_on, ann, bo):
    mention(ann, bo)
    services.mark_all_read(ann)
    assert email.send_due()["sent"] == 0
    assert told(ann)[0].email_outcome == "read"
    assert mails(mail_on, "ann@example.org") == []


# --- unsubscribing ---


def unsubscribe_path(inbox) -> str:  # noqa: F811
    (message,) = mails(inbox, "ann@example.org")
    return message["List-Unsubscribe"].strip().strip("<>").removeprefix(PUBLIC)


def test_one_click_post_works_signed_out_and_turns_that_email_off(
    client, mail_on, ann, bo
):
    mention(ann, bo)
    email.send_due()
    path = unsubscribe_path(mail_on)
    # What a mail program posts (RFC 8058): no session, no form token.
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    chosen = settings.settings_of(ann)["groups"]
    assert chosen["mentions"]["email_now"] is False
    assert chosen["mentions"]["in_app"] is True  # the site still tells
    assert chosen["my_tickets"]["email_now"] is True  # other kinds keep theirs
    mention(ann, bo, change="p2")
    assert email.send_due()["sent"] == 0
    assert len(mails(mail_on, "ann@example.org")) == 1


def test_get_only_asks(client, mail_on, ann, bo):
    mention(ann, bo)
    email.send_due()
    page = client.get(unsubscribe_path(mail_on))
    assert page.status_code == 200
    assert "Stop these emails" in page.get_data(as_text=True)
    assert settings.settings_of(ann)["groups"]["mentions"]["email_now"] is True


def test_the_pages_button_stops_all_email_and_needs_its_form_token(
    client, mail_on, ann, bo
):
    mention(ann, bo)
    email.send_due()
    path = unsubscribe_path(mail_on)
    refused = client.post(path, data={"scope": "all"})
    assert refused.status_code == 400
    assert settings.settings_of(ann)["groups"]["mentions"]["email_now"] is True
    token = csrf_token(client, path)
    done = client.post(path, data={"scope": "all", "csrf_token": token})
    assert done.status_code == 200
    assert "no more notification email" in done.get_data(as_text=True)
    for channels in settings.settings_of(ann)["groups"].values():
        assert (channels["email_now"], channels["digest"]) == (False, False)


def test_a_tampered_link_is_refused_with_words(client, app, ann):
    good = unsubscribe.token_for(ann.id, "email_now", ["mentions"])
    for token in (good[:-2] + "xx", "nonsense", good.replace(".", "", 1)):
        for answer in (
            client.get(f"/notifications/unsubscribe/{token}"),
            client.post(
                f"/notifications/unsubscribe/{token}",
                data={"List-Unsubscribe": "One-Click"},
            ),
        ):
            assert answer.status_code == 404
            assert "unsubscribe link is not valid" in answer.get_data(as_text=True)
    assert settings.settings_of(ann)["groups"]["mentions"]["email_now"] is True
