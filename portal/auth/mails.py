"""Account emails: multipart (text and HTML), in the language of the request that
asks for them, any time shown in the city's zone."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app, render_template, url_for
from flask_babel import format_datetime, get_locale
from flask_babel import gettext as _
from flask_mail import Message

from portal.dbtypes import utcnow
from portal.errors import PortalError
from portal.extensions import mail

log = logging.getLogger(__name__)


class MailUnavailable(PortalError):
    status = 503
    code = "mail_unavailable"


@dataclass
class Action:
    """A link the mail offers: a button in HTML, the label and address in text."""

    label: str
    url: str


@dataclass
class AccountMail:
    """What one account email says; both parts are rendered from it, so the text
    and the HTML never say different things."""

    subject: str
    paragraphs: list[str]
    actions: list[Action] = field(default_factory=list)
    after: list[str] = field(default_factory=list)


def link(endpoint: str, **values) -> str:
    """An absolute address on the portal, for a mail."""
    # PUBLIC_URL when set: a forged Host header must not make the portal mail a
    # link to someone else's site, carrying a token that works here.
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def portal_name() -> str:
    return _("the %(city)s neighborhood portal", city=current_app.config["CITY_NAME"])


def moment(when: datetime) -> str:
    """A time as the reader reads it: the city's zone (Flask-Babel's timezone
    selector), named, so a reader elsewhere is not misled."""
    return format_datetime(when, "long")


def until(hours: int) -> str:
    """When a link made now stops working."""
    return moment(utcnow() + timedelta(hours=hours))


def send(to: str, message: AccountMail) -> None:
    """Send an account email to one address.

    :raises MailUnavailable: the mail server did not take the message.
    """
    language = str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"])
    context = {
        "mail": message,
        "language": language,
        "portal": portal_name(),
        "signature": _("— %(portal)s", portal=portal_name()),
    }
    try:
        mail.send(
            Message(
                subject=message.subject,
                recipients=[to],
                body=render_template("mail/auth/account.txt", **context),
                html=render_template("mail/auth/account.html", **context),
                extra_headers={"Content-Language": language},
            )
        )
    except Exception:
        log.exception("mail to an account holder could not be sent")
        raise MailUnavailable(
            _("We could not send the email just now. Please try again in a while.")
        ) from None


def works_once_until(hours: int) -> str:
    return _("The link works once, until %(when)s.", when=until(hours))


def sign_in_or_reset() -> list[Action]:
    """For the owner of an address that has an account already."""
    return [
        Action(_("Sign in"), link("auth.login")),
        Action(
            _("Forgot your password? Choose a new one"), link("auth.forgot_password")
        ),
    ]
