"""Emailed links that finish a sign-up or reset a password, alike for any address."""

import hashlib
import hmac
import logging
from dataclasses import dataclass

from flask import current_app, url_for
from flask_babel import gettext as _
from flask_mail import Message
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.areas import services as areas
from portal.areas.models import Area
from portal.auth import services
from portal.auth.models import User
from portal.errors import NotFound, PortalError
from portal.extensions import mail
from portal.sockets import close_user_sockets

log = logging.getLogger(__name__)

SIGNUP_HOURS = 24
RESET_HOURS = 1


class MailUnavailable(PortalError):
    status = 503
    code = "mail_unavailable"


@dataclass
class Signup:
    email: str
    display_name: str
    area_slug: str


def confirms_by_mail() -> bool:
    """Whether sign-ups and resets go through email: only when a mail server is set.

    Without one (the demo) nothing can prove who owns an address, so an account is
    made and signed in at once, and a taken address is said to be taken.
    """
    return bool(current_app.config.get("MAIL_SERVER"))


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def _link(endpoint: str, **values) -> str:
    # PUBLIC_URL when set: a forged Host header must not make the portal mail a
    # link to someone else's site, carrying a token that works here.
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def _send(to: str, subject: str, body: str) -> None:
    """:raises MailUnavailable: the mail server did not take the message."""
    try:
        mail.send(Message(subject=subject, recipients=[to], body=body))
    except Exception:
        log.exception("mail to an account holder could not be sent")
        raise MailUnavailable(
            _("We could not send the email just now. Please try again in a while.")
        ) from None


def _portal() -> str:
    return _("the %(city)s neighborhood portal", city=current_app.config["CITY_NAME"])


def start_signup(display_name: str, email: str, area: Area) -> str:
    """Mail the next step of a sign-up and answer the normalized address.

    A new address gets a link to finish (choose a password); an address with an
    account gets a note saying someone tried, with how to sign in or reset. Both
    take one lookup and one email, so the requester cannot tell which it was.

    :raises ValidationFailed: the name or the address is not valid.
    :raises MailUnavailable: the mail server did not take the message.
    """
    display_name = services.check_display_name(display_name)
    email = services.normalize_email(email)
    if services.find_user(email) is not None:
        _send(
            email,
            _("Someone tried to create an account with your email"),
            _(
                "Someone, perhaps you, tried to create an account on %(portal)s "
                "with this address. It has an account already, so nothing "
                "changed.\n\nSign in: %(login)s\nForgot your password? Choose a "
                "new one: %(reset)s\n\nIf it was not you, ignore this message.",
                portal=_portal(),
                login=_link("auth.login"),
                reset=_link("auth.forgot_password"),
            ),
        )
        return email
    token = _serializer("signup").dumps(
        {"email": email, "name": display_name, "area": area.slug}
    )
    _send(
        email,
        _("Finish creating your account"),
        _(
            "To finish creating your account on %(portal)s, follow this link "
            "within %(hours)s hours and choose a password:\n%(link)s\n\nIf you did "
            "not ask for an account, ignore this message: none is made without it.",
            portal=_portal(),
            hours=SIGNUP_HOURS,
            link=_link("auth.finish_registration", token=token),
        ),
    )
    return email


def _expired() -> NotFound:
    return NotFound(
        _("This link is not valid, has expired or was used already."), "token"
    )


def signup_for(token: str) -> Signup:
    """What a sign-up link asks for.

    :raises NotFound: the link is forged, damaged or older than a day.
    """
    try:
        data = _serializer("signup").loads(token, max_age=SIGNUP_HOURS * 3600)
        return Signup(data["email"], data["name"], data["area"])
    except (BadSignature, KeyError, TypeError):
        raise _expired() from None


def finish_signup(token: str, password: str) -> User:
    """Create the account a sign-up link asked for, with this password.

    :raises NotFound: the link is not valid (see ``signup_for``), or its
        neighborhood is gone.
    :raises ValidationFailed: the password breaks the rules, or the address got an
        account meanwhile (an earlier use of the same link).
    """
    signup = signup_for(token)
    area = areas.get_area(signup.area_slug)
    return services.register_user(signup.display_name, signup.email, password, area)


def _fingerprint(user: User) -> str:
    # Changes with the password, so a reset link works once and dies with the next
    # change; the hash itself never leaves the database.
    return hashlib.sha256(("reset:" + user.password_hash).encode()).hexdigest()[:32]


def start_reset(email: str) -> str:
    """Mail a reset link to an account's address, or, when no account has it, a
    note saying so; answers the normalized address. One lookup and one email
    either way.

    :raises ValidationFailed: not a valid address.
    :raises MailUnavailable: the mail server did not take the message.
    """
    email = services.normalize_email(email)
    user = services.find_user(email)
    if user is None:
        _send(
            email,
            _("Password reset requested"),
            _(
                "Someone, perhaps you, asked to reset the password of an account on "
                "%(portal)s with this address, but no account uses it. To create "
                "one: %(register)s\n\nIf it was not you, ignore this message.",
                portal=_portal(),
                register=_link("auth.register"),
            ),
        )
        return email
    token = _serializer("reset").dumps({"email": email, "was": _fingerprint(user)})
    _send(
        email,
        _("Choose a new password"),
        _(
            "To choose a new password for your account on %(portal)s, follow this "
            "link within an hour:\n%(link)s\n\nIf you did not ask, ignore this "
            "message: your password stays as it is.",
            portal=_portal(),
            link=_link("auth.reset_password", token=token),
        ),
    )
    return email


def user_to_reset(token: str) -> User:
    """The account a reset link is for.

    :raises NotFound: forged, older than an hour, or the password changed since
        (the link was used).
    """
    try:
        data = _serializer("reset").loads(token, max_age=RESET_HOURS * 3600)
        email, was = data["email"], data["was"]
    except (BadSignature, KeyError, TypeError):
        raise _expired() from None
    user = services.find_user(email)
    if user is None or not hmac.compare_digest(str(was), _fingerprint(user)):
        raise _expired()
    return user


def finish_reset(token: str, password: str) -> User:
    """Set the new password a reset link allows, ending every session and socket
    of the account (whoever knew the old password is out).

    :raises NotFound: the link is not valid (see ``user_to_reset``).
    :raises ValidationFailed: the password breaks the rules.
    """
    user = user_to_reset(token)
    services.set_password(user, password)
    close_user_sockets(user.id)
    return user
