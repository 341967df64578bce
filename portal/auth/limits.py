"""Rate limits of the account pages: the defaults of their settings, and whom each
counts (the client's address, the account, or the address a mail would go to)."""

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import limiter

# Settings of this blueprint, set when it is registered unless the configuration
# (PORTAL_* variables, a test's mapping) names them.
DEFAULTS = {
    # Mails one address may be sent by sign-ups, resets and changes of address,
    # whoever asks: an inbox cannot be flooded from many clients.
    "MAIL_LIMIT_PER_RECIPIENT": "5 per hour",
    # Changes of address one account may ask for, each checking the password.
    "EMAIL_CHANGE_LIMIT_PER_ACCOUNT": "5 per hour",
}


def set_defaults(state) -> None:
    for name, value in DEFAULTS.items():
        state.app.config.setdefault(name, value)


def _config(name: str):
    return lambda: current_app.config[name]


def _mails_sent(response) -> bool:
    # Only an answer that mailed someone counts: a form sent back with an error
    # mailed nobody.
    return response.status_code == 200


def _no_mail() -> bool:
    return not current_app.config.get("MAIL_SERVER")


def _recipient(field: str):
    def key() -> str:
        # The same address however it is typed; an address with an account and one
        # without count alike, so a 429 tells nothing either.
        return "mail-to:" + request.form.get(field, "").strip().lower()[:254]

    return key


def _account() -> str:
    if current_user.is_authenticated:
        return f"account:{current_user.id}"
    return "address:" + (request.remote_addr or "")


def per_address(message):
    """Requests from one client's address (``REGISTER_LIMIT_PER_ADDRESS``): each
    one mails someone, as a sign-up does."""
    return limiter.limit(
        _config("REGISTER_LIMIT_PER_ADDRESS"), methods=["POST"], error_message=message
    )


def per_recipient(field: str):
    """Mails to the address typed in ``field`` (``MAIL_LIMIT_PER_RECIPIENT``); none
    without a mail server, where nothing is mailed."""
    return limiter.shared_limit(
        _config("MAIL_LIMIT_PER_RECIPIENT"),
        # One budget for the three pages that mail: five sign-ups, five resets and
        # five changes would be fifteen mails to one inbox.
        "account-mail",
        key_func=_recipient(field),
        methods=["POST"],
        deduct_when=_mails_sent,
        exempt_when=_no_mail,
        error_message=lambda: _(
            "Too many emails were sent to this address lately. Please try again "
            "in an hour."
        ),
    )


def per_account(setting: str, message, deduct_when=None):
    """Requests of one signed-in account, every one or those ``deduct_when``
    says."""
    return limiter.limit(
        _config(setting),
        key_func=_account,
        methods=["POST"],
        deduct_when=deduct_when,
        error_message=message,
    )
