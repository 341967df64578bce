"""One-click unsubscribe (RFC 8058) from notification mail: a signed link in every
mail turns that mail's channel off, signed in or not.

A mail sent at once carries the groups it was about: following its link turns
"email at once" off for those groups. A digest's link turns the digest off for
every group. The confirmation page also offers to stop all email (both channels,
every group). The token names the account, the channel and the groups; it is
signed with SECRET_KEY under a salt of its own and does not expire (an old mail's
link must still work), and a new SECRET_KEY retires every link.
"""

from dataclasses import dataclass
from urllib.parse import urljoin

from flask import current_app, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update

from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import NotFound
from portal.extensions import db
from portal.notifications import settings
from portal.notifications.kinds import GROUPS, kinds
from portal.notifications.models import Notification

SALT = "notifications-unsubscribe"
MAIL_CHANNELS = ("email_now", "digest")
# The body a mail program posts for a one-click unsubscribe (RFC 8058 section 3.1).
ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass(frozen=True)
class Unsubscription:
    user: User
    channel: str
    groups: tuple[str, ...]


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_for(user_id: int, channel: str, groups) -> str:
    """The token of a mail's unsubscribe link."""
    if channel not in MAIL_CHANNELS:
        raise ValueError(f"not a mail channel: {channel!r}")
    chosen = sorted(set(groups) & set(GROUPS)) or sorted(GROUPS)
    return _signer().dumps({"u": user_id, "c": channel, "g": chosen})


def one_click_url(token: str) -> str:
    """The link's absolute address (inside a mail's context: on PUBLIC_URL)."""
    return urljoin(
        request.host_url, url_for("notifications.unsubscribe_link", token=token)
    )


def _invalid() -> NotFound:
    return NotFound(
        _(
            "This unsubscribe link is not valid: check that it was copied whole, "
            "or change what you get in your notification settings."
        ),
        "token",
    )


def read(token: str) -> Unsubscription:
    """What an unsubscribe link asks for.

    :raises NotFound: the token is forged, damaged or names no account now.
    """
    try:
        data = _signer().loads(token)
    except BadSignature:
        raise _invalid() from None
    if not isinstance(data, dict):
        raise _invalid()
    user_id, channel, groups = data.get("u"), data.get("c"), data.get("g")
    if not isinstance(user_id, int) or channel not in MAIL_CHANNELS:
        raise _invalid()
    if not isinstance(groups, list) or not set(groups) <= set(GROUPS):
        raise _invalid()
    user = db.session.get(User, user_id)
    if user is None:
        raise _invalid()
    return Unsubscription(user, channel, tuple(groups))


def describe(found: Unsubscription) -> list[str]:
    """The kinds of notification the link would stop, in words."""
    return [str(GROUPS[group]) for group in found.groups]


def unsubscribe(found: Unsubscription, everything: bool = False) -> None:
    """Turn the link's channel off for its groups, or (``everything``) both mail
    channels for every group; what was waiting to go by that channel does not go.
    Commits."""
    channels = MAIL_CHANNELS if everything else (found.channel,)
    groups = tuple(GROUPS) if everything else found.groups
    settings.save_settings(
        found.user,
        {group: dict.fromkeys(channels, False) for group in groups},
    )
    codes = [code for code, kind in kinds().items() if kind.group in groups]
    if not codes:
        return
    mine = (Notification.recipient_id == found.user.id, Notification.kind.in_(codes))
    if "email_now" in channels:
        db.session.execute(
            update(Notification)
            .where(
                *mine,
                Notification.email_now.is_(True),
                Notification.emailed_at.is_(None),
                Notification.email_handed_at.is_(None),
            )
            .values(emailed_at=utcnow(), email_outcome="off")
            .execution_options(synchronize_session=False)
        )
    if "digest" in channels:
        db.session.execute(
            update(Notification)
            .where(
                *mine,
                Notification.digest.is_(True),
                Notification.digest_run_id.is_(None),
            )
            .values(digest=False)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()
