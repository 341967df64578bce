"""Emailed links that finish a sign-up, reset a password or confirm a new address,
each answering alike whether an account has the address or not.

Verification: with a mail server set, an account exists only once the link mailed to
its address is followed (the password is chosen behind it), so every account made
by sign-up has proved its address and there is no unverified account to limit. A
new address proves itself the same way before it replaces the old one. Without a
mail server (the demo) nothing can prove who owns an address: sign-up is immediate,
a change of address takes effect at once, a taken address is said to be taken, and
there is no reset. Accounts an administrator makes (``portal users create``) are
trusted as made.

Links are signed and salted per purpose (itsdangerous) and expire after the hours
below. Reset and change links carry a fingerprint of the account's address and
password hash, so each works once: using it changes one of them, and any other
change of password or address meanwhile kills it too.
"""

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from portal.areas import services as areas
from portal.areas.models import Area
from portal.auth import services, signed
from portal.auth.mails import (
    AccountMail,
    Action,
    link,
    portal_name,
    send,
    sign_in_or_reset,
    works_once_until,
)
from portal.auth.models import User
from portal.sockets import close_user_sockets

SIGNUP_HOURS = 24
RESET_HOURS = 1
EMAIL_CHANGE_HOURS = 24

# The salts (see signed.serializer).
SIGNUP, RESET, EMAIL_CHANGE = "signup", "reset", "email-change"


@dataclass
class Signup:
    email: str
    display_name: str
    area_slug: str


def confirms_by_mail() -> bool:
    """Whether sign-ups, resets and changes of address go through email: only when a
    mail server is set (see the module's docstring)."""
    return bool(current_app.config.get("MAIL_SERVER"))


# --- sign-up ---


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
        send(email, _tried_signup())
        return email
    token = signed.serializer(SIGNUP).dumps(
        {"email": email, "name": display_name, "area": area.slug}
    )
    message = AccountMail(
        subject=_("Finish creating your account"),
        paragraphs=[
            _(
                "To finish creating your account on %(portal)s, follow this link "
                "and choose a password.",
                portal=portal_name(),
            )
        ],
        actions=[
            Action(
                _("Choose your password"), link("auth.finish_registration", token=token)
            )
        ],
        after=[
            works_once_until(SIGNUP_HOURS),
            _(
                "If you did not ask for an account, ignore this message: none is "
                "made without it."
            ),
        ],
    )
    send(email, message)
    return email


def _tried_signup() -> AccountMail:
    return AccountMail(
        subject=_("Someone tried to create an account with your email"),
        paragraphs=[
            _(
                "Someone, perhaps you, tried to create an account on %(portal)s with "
                "this address. It has an account already, so nothing changed.",
                portal=portal_name(),
            )
        ],
        actions=sign_in_or_reset(),
        after=[_("If it was not you, ignore this message.")],
    )


def signup_for(token: str) -> Signup:
    """What a sign-up link asks for.

    :raises NotFound: the link is forged, damaged or older than a day.
    """
    data = signed.read(SIGNUP, token, SIGNUP_HOURS)
    try:
        return Signup(str(data["email"]), str(data["name"]), str(data["area"]))
    except KeyError:
        raise signed.invalid() from None


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


# --- forgotten password ---


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
        message = AccountMail(
            subject=_("Password reset requested"),
            paragraphs=[
                _(
                    "Someone, perhaps you, asked to reset the password of an account "
                    "on %(portal)s with this address, but no account uses it.",
                    portal=portal_name(),
                )
            ],
            actions=[Action(_("Create an account"), link("auth.register"))],
            after=[_("If it was not you, ignore this message.")],
        )
        send(email, message)
        return email
    token = signed.token_for(RESET, user)
    message = AccountMail(
        subject=_("Choose a new password"),
        paragraphs=[
            _(
                "To choose a new password for your account on %(portal)s, follow "
                "this link.",
                portal=portal_name(),
            )
        ],
        actions=[
            Action(_("Choose a new password"), link("auth.reset_password", token=token))
        ],
        after=[
            works_once_until(RESET_HOURS),
            _("If you did not ask, ignore this message: your password stays as it is."),
        ],
    )
    send(email, message)
    return email


def user_to_reset(token: str) -> User:
    """The account a reset link is for.

    :raises NotFound: forged, older than an hour, or the password or the address
        changed since (the link was used).
    """
    return signed.account_for(signed.read(RESET, token, RESET_HOURS), RESET)


def finish_reset(token: str, password: str) -> User:
    """Set the new password a reset link allows, ending every session, API token and
    socket of the account (whoever knew the old password is out).

    :raises NotFound: the link is not valid (see ``user_to_reset``).
    :raises ValidationFailed: the password breaks the rules.
    """
    user = user_to_reset(token)
    services.reset_password(user, password)
    close_user_sockets(user.id)  # every socket joined the user's room, tokens' too
    return user
