"""The mail machinery both notification senders share: the SMTP handover (at most
once per mail), and the mails' words: multipart, grouped by item with the newest
first, in the recipient's language and the city's zone, with one-click unsubscribe
headers (RFC 8058). See portal.notifications.email for the guarantee.
"""

import logging
import smtplib
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from urllib.parse import urljoin, urlsplit

from flask import Flask, current_app, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.routing import BuildError

from portal.auth.mails import moment, portal_name
from portal.auth.models import User
from portal.duties import worker_name
from portal.extensions import db
from portal.notifications import registry, services
from portal.notifications.kinds import describe
from portal.notifications.models import DigestSchedule, Notification
from portal.notifications.unsubscribe import one_click_url

log = logging.getLogger(__name__)

SETTINGS = {
    "NOTIFICATIONS_MAIL_INTERVAL": 30.0,  # seconds between passes of "email at once"
    "NOTIFICATIONS_MAIL_LEASE": 300.0,  # a claim returns to the queue after this
    "NOTIFICATIONS_MAIL_MAX_AGE": 86400.0,  # older than this: the site told it
    "NOTIFICATIONS_MAIL_BATCH": 500,  # notifications claimed per pass
    "NOTIFICATIONS_MAIL_ATTEMPTS": 8,  # refusals before a mail is given up
    "NOTIFICATIONS_MAIL_RETRY_BASE": 60.0,  # backoff after a refusal, doubling…
    "NOTIFICATIONS_MAIL_RETRY_MAX": 3600.0,  # …up to this
    "MAIL_TIMEOUT": 30.0,  # seconds the SMTP server may take to answer
}
ROWS_PER_GROUP = 5  # a mail shows this many notifications of one item
PERMANENT = 500  # SMTP replies from 500 up refuse for good


def mail_enabled(app: Flask) -> bool:
    """Mail goes only with a mail server (the demo has none: the site tells all)."""
    return bool(app.config.get("MAIL_SERVER"))


def claim_token() -> str:
    """Names one pass's claims: its rows are told apart from another worker's."""
    return f"{uuid.uuid4().hex[:12]}@{worker_name()}"[:64]


def backoff(attempts: int) -> timedelta:
    config = current_app.config
    seconds = float(config["NOTIFICATIONS_MAIL_RETRY_BASE"]) * 2 ** (attempts - 1)
    return timedelta(
        seconds=min(seconds, float(config["NOTIFICATIONS_MAIL_RETRY_MAX"]))
    )


# --- the handover ---


class Refused(Exception):
    """The server did not take the message (it said no, or could not be reached):
    nothing was delivered, so trying again is safe unless ``permanent``."""

    def __init__(self, reason: str, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason[:500]
        self.permanent = permanent


def _reply(code: int, reply) -> Refused:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return Refused(f"{code} {text}", permanent=code >= PERMANENT)


class Postman:
    """One SMTP connection for a pass. Marks that may wait (sent, unsure) are kept
    here and committed with the next handover, so no database write lock is held
    while the server is talking."""

    def __init__(self):
        self._host: smtplib.SMTP | None = None
        self._down: str | None = None
        self._later: list[Callable[[], None]] = []

    def later(self, mark: Callable[[], None]) -> None:
        self._later.append(mark)

    def flush(self) -> None:
        for mark in self._later:
            mark()
        self._later.clear()
        db.session.commit()

    def _connect(self) -> smtplib.SMTP:
        if self._host is not None:
            return self._host
        if self._down:  # one unreachable server per pass, not one wait per mail
            raise Refused(self._down)
        config = current_app.config
        kind = smtplib.SMTP_SSL if config.get("MAIL_USE_SSL") else smtplib.SMTP
        try:
            host = kind(
                config["MAIL_SERVER"],
                int(config["MAIL_PORT"]),
                timeout=float(config["MAIL_TIMEOUT"]),
            )
            if config.get("MAIL_USE_TLS"):
                host.starttls()
            if config.get("MAIL_USERNAME") and config.get("MAIL_PASSWORD"):
                host.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except (smtplib.SMTPException, OSError) as error:
            self._down = f"the mail server could not be reached: {error}"
            raise Refused(self._down) from None
        self._host = host
        return host

    def _drop(self) -> None:
        host, self._host = self._host, None
        if host is not None:
            try:
                host.close()
            except OSError:
                pass

    def _reset(self) -> None:
        try:
            if self._host is not None:
                self._host.rset()
        except (smtplib.SMTPException, OSError):
            self._drop()

    def deliver(self, message: "Outgoing", hand: Callable[[], bool]) -> str:
        """Hand one message to SMTP.

        :param hand: records (without committing) that the message is being handed
            over; answers False when the claim was lost to another worker.
        :returns: ``sent``, ``lost`` (the claim was gone: nothing sent) or
            ``unsure`` (the connection broke during DATA: perhaps delivered).
        :raises Refused: the server said no before taking the message.
        """
        host = self._connect()
        try:
            host.ehlo_or_helo_if_needed()
            code, reply = host.mail(parseaddr(message.sender)[1])
            if code != 250:
                raise _reply(code, reply)
            for address in message.recipients:
                code, reply = host.rcpt(address)
                if code not in (250, 251):
                    raise _reply(code, reply)
        except Refused:
            self._reset()
            raise
        except (smtplib.SMTPException, OSError) as error:
            self._drop()
            raise Refused(f"the mail server dropped the connection: {error}") from None
        body = message.as_bytes()
        # The point of no return, committed before the message goes: a crash from
        # here on leaves the mail handed, and it is never sent twice.
        try:
            for mark in self._later:
                mark()
            self._later.clear()
            kept = hand()
            db.session.commit()
        except Exception:
            db.session.rollback()
            self._reset()
            raise
        if not kept:
            self._reset()
            return "lost"
        try:
            code, reply = host.data(body)
        except smtplib.SMTPDataError as error:  # DATA itself refused: nothing taken
            self._reset()
            raise _reply(error.smtp_code, error.smtp_error) from None
        except (smtplib.SMTPException, OSError):
            self._drop()
            return "unsure"
        if code != 250:  # an answer after the message: it was not taken
            self._reset()
            raise _reply(code, reply)
        return "sent"

    def close(self) -> None:
        try:
            self.flush()
        finally:
            if self._host is not None:
                try:
                    self._host.quit()
                except (smtplib.SMTPException, OSError):
                    pass
            self._drop()


# --- the words ---


@dataclass(frozen=True)
class Person:
    """Whom a mail goes to: plain values, which outlive the pass's commits (an ORM
    user would be read again after each)."""

    id: int
    email: str
    display_name: str


def people(ids) -> dict[int, Person]:
    rows = db.session.execute(
        select(User.id, User.email, User.display_name).where(
            User.id.in_(sorted(set(ids)))
        )
    )
    return {row.id: Person(*row) for row in rows}


@dataclass
class Outgoing:
    """A notification mail ready for SMTP: multipart (text and HTML)."""

    sender: str
    recipients: list[str]
    subject: str
    text: str
    html: str
    headers: dict[str, str]

    def as_bytes(self) -> bytes:
        # The standard library's compat32 writer: flask-mail's SMTP policy costs
        # 3 ms a message (a minute of a 20,000-person digest), and it writes a long
        # List-Unsubscribe as encoded words, which no mail program reads as a link.
        charset = Charset("utf-8")
        charset.body_encoding = QP  # 7-bit safe for any server, and still readable
        message = MIMEMultipart("alternative")
        message.attach(MIMEText(self.text, "plain", charset))
        message.attach(MIMEText(self.html, "html", charset))
        name, address = parseaddr(self.sender)
        subject = self.subject
        message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8")
        message["From"] = formataddr((name, address), charset="utf-8")
        message["To"] = ", ".join(self.recipients)
        message["Date"] = formatdate(usegmt=True)
        domain = urlsplit(base_url()).hostname or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        for key, value in self.headers.items():
            message[key] = value
        return message.as_bytes(policy=compat32.clone(linesep="\r\n"))


@dataclass
class Entry:
    text: str
    when: str


@dataclass
class Section:
    """One item's notifications in a mail, newest first."""

    title: str
    url: str | None
    entries: list[Entry] = field(default_factory=list)
    more: int = 0


def base_url() -> str:
    # PUBLIC_URL: a mail's links (an unsubscribe token among them) must lead to the
    # portal, whatever host a request came in by.
    return current_app.config.get("PUBLIC_URL") or "http://localhost/"


@contextmanager
def mail_context():
    """Where mails are written outside a request (the worker): links are built on
    PUBLIC_URL."""
    with current_app.test_request_context("/", base_url=base_url()):
        yield


def absolute(path: str | None) -> str | None:
    return urljoin(request.host_url, path) if path else None


def language_of(user_ids) -> dict[int, str]:
    """Each person's mail language: the one their settings were saved in, else the
    portal's default."""
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    known = set(current_app.config.get("LANGUAGES") or [default])
    chosen = dict(
        db.session.execute(
            select(DigestSchedule.user_id, DigestSchedule.language).where(
                DigestSchedule.user_id.in_(sorted(set(user_ids)))
            )
        ).all()
    )
    return {
        who: chosen.get(who) if chosen.get(who) in known else default
        for who in user_ids
    }


# What a mail reads of a notification: plain rows, not ORM objects, which every
# commit of a pass (one a mail) would expire and read again.
MAIL_COLUMNS = (
    Notification.id,
    Notification.recipient_id,
    Notification.kind,
    Notification.item_type,
    Notification.item_id,
    Notification.actor_id,
    Notification.values,
    Notification.url,
    Notification.created_at,
    Notification.digest_run_id,
)


def mail_rows(*conditions) -> list:
    """The notifications a mail tells of, as plain rows."""
    return db.session.execute(select(*MAIL_COLUMNS).where(*conditions)).all()


def visible(person: Person, rows: list[Notification]) -> tuple[list, list]:
    """(rows the person may still see, rows about items now hidden from them)."""
    items = {(r.item_type, r.item_id) for r in rows}
    if not {item_type for item_type, _id in items} & registry.checked_types():
        return rows, []  # nothing whose visibility is judged: no account to load
    hidden = registry.hidden_items(db.session.get(User, person.id), items)
    shown = [r for r in rows if (r.item_type, r.item_id) not in hidden]
    return shown, [r for r in rows if (r.item_type, r.item_id) in hidden]


class Names:
    """Actors' display names, read once per pass, not once per sentence."""

    def __init__(self):
        self._names: dict[int, str] = {}

    def sentence(self, row: Notification) -> str:
        if row.actor_id is not None and row.actor_id not in self._names:
            name = db.session.scalar(
                select(User.display_name).where(User.id == row.actor_id)
            )
            self._names[row.actor_id] = name
        return describe(row.kind, row.values, self._names.get(row.actor_id))


def sections(
    rows: list[Notification], names: Names, limit: int | None = None
) -> tuple[list, int]:
    """Rows grouped by item: each newest first, items in the order of their newest.

    :param limit: at most this many items (the rest counted, not shown).
    :returns: (sections, how many notifications were left out).
    """
    groups: dict[tuple[str, int], list[Notification]] = {}
    for row in sorted(rows, key=lambda r: (r.created_at, r.id), reverse=True):
        groups.setdefault((row.item_type, row.item_id), []).append(row)
    made, left_out = [], 0
    for number, members in enumerate(groups.values()):
        if limit is not None and number >= limit:
            left_out += len(members)
            continue
        newest = members[0]
        title = (newest.values or {}).get("title") or names.sentence(newest)
        try:
            url = absolute(services.link_of(newest))
        except (BuildError, RuntimeError):  # its domain cannot link it now
            url = None
        section = Section(str(title), url, more=max(len(members) - ROWS_PER_GROUP, 0))
        for row in members[:ROWS_PER_GROUP]:
            section.entries.append(Entry(names.sentence(row), moment(row.created_at)))
        made.append(section)
        left_out += section.more
    return made, left_out


def compose(
    person: Person,
    subject: str,
    intro: str,
    parts: list[Section],
    unsubscribe: str,
    more: int = 0,
    why: str = "",
) -> Outgoing:
    """A notification mail, text and HTML from one context, with the one-click
    unsubscribe headers of RFC 8058."""
    language = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    stop = one_click_url(unsubscribe)
    subject = " ".join(subject.split())  # one line: no header can be slipped in
    context = {
        "subject": subject,
        "intro": intro,
        "sections": parts,
        "more": more,
        "all_url": absolute(url_for("notifications.index")),
        "settings_url": absolute(url_for("notifications.settings")),
        "unsubscribe_url": stop,
        "why": why,
        "language": language,
        "portal": portal_name(),
        "signature": _("— %(portal)s", portal=portal_name()),
    }
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") or ""
    if isinstance(sender, (tuple, list)):
        sender = formataddr(tuple(sender))
    return Outgoing(
        sender=sender,
        recipients=[person.email],
        subject=subject,
        text=render_template("mail/notifications/notifications.txt", **context),
        html=render_template("mail/notifications/notifications.html", **context),
        headers={
            "Content-Language": language,
            "List-Unsubscribe": f"<{stop}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",  # RFC 3834: no vacation replies
        },
    )
