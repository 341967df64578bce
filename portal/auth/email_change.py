"""Change of an account's email address, confirmed at the new address by a signed,
expiring, single-use link (followed signed in to the account); the old address is
told once, with no link in it. See ``portal.auth.links`` for mail-less portals."""

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from portal.auth import services, signed
from portal.auth.links import EMAIL_CHANGE, EMAIL_CHANGE_HOURS
from portal.auth.mails import (
    AccountMail,
    Action,
    link,
    moment,
    portal_name,
    send,
    sign_in_or_reset,
    works_once_until,
)
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import Conflict, PermissionDenied, ValidationFailed
from portal.extensions import db


@dataclass
class EmailChange:
    user: User
    new_email: str


def _new_address(user: User, password: str, new_email: str) -> str:
    services.check_current_password(user, password)
    email = services.normalize_email(new_email, field="new_email")
    if email == user.email:
        raise ValidationFailed(_("This is your address already."), "new_email")
    return email


def _taken() -> Conflict:
    return Conflict(
        _("This address has an account already, so nothing changed."), "new_email"
    )


def _set_email(user: User, email: str) -> None:
    user.email = email
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # another account took the address meanwhile
        raise _taken() from None


def change_email(user: User, password: str, new_email: str) -> str:
    """Without a mail server: give the account a new address at once, after its
    password; answers the address. (Nothing could prove the address, and sign-up
    names a taken address alike.)

    :raises ValidationFailed: the password is wrong, or the address is not valid or
        is the account's already.
    :raises Conflict: another account has the address.
    """
    email = _new_address(user, password, new_email)
    if services.find_user(email) is not None:
        raise _taken()
    _set_email(user, email)
    return email


def start_email_change(user: User, password: str, new_email: str) -> str:
    """Ask the new address to confirm that it is the account's, and answer it.

    A free address gets a link (to follow signed in to the account); an address
    with an account of its own gets a note that nothing changed and no link, so no
    link can ever move an account onto another's address. One lookup and one email
    either way: the requester cannot tell which it was.

    :raises ValidationFailed: the password is wrong, or the address is not valid or
        is the account's already.
    :raises MailUnavailable: the mail server did not take the message.
    """
    email = _new_address(user, password, new_email)
    if services.find_user(email) is not None:
        message = AccountMail(
            subject=_("Someone tried to move an account to your email"),
            paragraphs=[
                _(
                    "Someone, perhaps you, asked to move another account on "
                    "%(portal)s to this address. One address belongs to one "
                    "account, and this one has an account already, so nothing "
                    "changed.",
                    portal=portal_name(),
                )
            ],
            actions=sign_in_or_reset(),
            after=[_("If it was not you, ignore this message.")],
        )
        send(email, message)
        return email
    token = signed.token_for(EMAIL_CHANGE, user, to=email)
    message = AccountMail(
        subject=_("Confirm your new email address"),
        paragraphs=[
            _(
                "Someone, perhaps you, asked to use this address for the account "
                "“%(name)s” on %(portal)s. To confirm, follow this link, signed in "
                "to that account.",
                name=user.display_name,
                portal=portal_name(),
            )
        ],
        actions=[
            Action(
                _("Confirm the new address"), link("auth.confirm_email", token=token)
            )
        ],
        after=[
            works_once_until(EMAIL_CHANGE_HOURS),
            _("If you did not ask, ignore this message: nothing changes without it."),
        ],
    )
    send(email, message)
    return email


def email_change_for(token: str, user: User) -> EmailChange:
    """The change a link asks for, if it is the signed-in account's.

    :raises NotFound: forged, expired, or the account's address or password changed
        since it was sent (it was used).
    :raises PermissionDenied: the link is for another account.
    """
    data = signed.read(EMAIL_CHANGE, token, EMAIL_CHANGE_HOURS)
    owner = signed.account_for(data, EMAIL_CHANGE)
    new_email = data.get("to")
    if not isinstance(new_email, str):
        raise signed.invalid()
    if owner.id != user.id:
        raise PermissionDenied(
            _(
                "This link is for another account. Sign out, then sign in to the "
                "account it is for."
            ),
            "token",
        )
    return EmailChange(owner, new_email)


def finish_email_change(token: str, user: User) -> str:
    """Move the signed-in account to the address the link confirms; answers the
    old address, which was told first.

    :raises NotFound: the link is not valid (see ``email_change_for``).
    :raises PermissionDenied: the link is for another account.
    :raises Conflict: another account has the address by now: nothing changed, and
        neither account is touched.
    :raises MailUnavailable: the old address could not be told: nothing changed.
    """
    change = email_change_for(token, user)
    if services.find_user(change.new_email) is not None:
        raise _taken()  # never two accounts on one address: neither is touched
    old = user.email
    # Told before the change, so the old address always hears (the change waits for
    # the mail server). No link in it: whoever reads the old mailbox, perhaps not
    # the owner any more, can do nothing to the account from it.
    send(old, _changed_notice(user, change.new_email))
    _set_email(user, change.new_email)
    return old


def _masked(email: str) -> str:
    local, _at, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


def _changed_notice(user: User, new_email: str) -> AccountMail:
    return AccountMail(
        subject=_("Your email address was changed"),
        paragraphs=[
            _(
                "The email address of your account “%(name)s” on %(portal)s was "
                "changed on %(when)s from this address to %(new)s. Messages about "
                "the account go there from now on.",
                name=user.display_name,
                portal=portal_name(),
                when=moment(utcnow()),
                new=_masked(new_email),
            ),
            _(
                "If you did this, there is nothing more to do. If you did not, "
                "someone else knows your password: tell the people who run the "
                "portal at once, as this address no longer reaches the account."
            ),
        ],
    )
