"""Rate limits on writing to the forums: per account, stricter for new accounts."""

from flask import current_app, request
from flask_babel import gettext as _
from flask_login import current_user

from portal.extensions import limiter
from portal.forums.services import is_new_account


def _key(kind: str) -> str:
    user = current_user
    who = user.id if user.is_authenticated else request.remote_addr
    return f"{kind}:{who}"


def _posting_limit() -> str:
    new = current_user.is_authenticated and is_new_account(current_user)
    return current_app.config["FORUM_POST_LIMIT_NEW" if new else "FORUM_POST_LIMIT"]


def _posting_message() -> str:
    return _("You are posting faster than the forum allows. Wait a minute and retry.")


def _flag_message() -> str:
    return _("You have sent many reports. Wait a while before sending more.")


# Threads and replies share one budget, whether written on a page or via the API.
posting = limiter.shared_limit(
    _posting_limit,
    scope="forum-posting",
    key_func=lambda: _key("post"),
    error_message=_posting_message,
)
flagging = limiter.shared_limit(
    lambda: current_app.config["FORUM_FLAG_LIMIT"],
    scope="forum-flags",
    key_func=lambda: _key("flag"),
    error_message=_flag_message,
)
