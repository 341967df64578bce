"""The tokens of emailed links: signed and salted per purpose, expiring, and (for
links that act on an account) single-use."""

import hmac

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.auth.models import User
from portal.errors import NotFound
from portal.extensions import db


def serializer(purpose: str) -> URLSafeTimedSerializer:
    # The purpose is the salt: a link made for one purpose is worthless for another.
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def fingerprint(user: User, purpose: str) -> str:
    """What a link remembers of the account: it changes with the password or the
    address, which is what makes a link single-use."""
    # Keyed, so the link (whose payload anyone can read) tells nothing of the hash.
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    state = "\0".join((purpose, str(user.id), user.email, user.password_hash))
    return hmac.new(key, state.encode(), "sha256").hexdigest()[:32]


def token_for(purpose: str, user: User, **data) -> str:
    """A link's token acting on this account, as it is now."""
    return serializer(purpose).dumps(
        {"id": user.id, "was": fingerprint(user, purpose), **data}
    )


def invalid() -> NotFound:
    return NotFound(
        _("This link is not valid: check that it was copied whole."), "token"
    )


def used() -> NotFound:
    return NotFound(
        _(
            "This link was used already, or the account changed since it was sent. "
            "Ask for a new one."
        ),
        "token",
    )


def read(purpose: str, token: str, hours: int) -> dict:
    """What a token carries.

    :raises NotFound: forged or damaged, or older than ``hours`` (each said so).
    """
    try:
        data = serializer(purpose).loads(token, max_age=hours * 3600)
    except SignatureExpired:
        raise NotFound(
            _("This link has expired. Ask for a new one."), "token"
        ) from None
    except BadSignature:
        raise invalid() from None
    if not isinstance(data, dict):
        raise invalid()
    return data


def account_for(data: dict, purpose: str) -> User:
    """The account a token made by ``token_for`` acts on.

    :raises NotFound: the account is gone, or its password or address changed since
        the token was made (the link was used).
    """
    user_id, was = data.get("id"), data.get("was")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not isinstance(was, str):
        raise used()
    if not hmac.compare_digest(was, fingerprint(user, purpose)):
        raise used()
    return user
