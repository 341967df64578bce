"""Each person's choices: per group of kinds and per channel, and when their digest
goes; defaults for whoever has not chosen."""

from collections.abc import Iterable

from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal.errors import PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.notifications.kinds import CHANNELS, DEFAULTS, GROUPS
from portal.notifications.models import (
    DIGEST_FREQUENCIES,
    DigestSchedule,
    NotificationSetting,
)

# Rows (or ids) per statement: SQLite accepts 32,766 bound values, PostgreSQL 65,535.
CHUNK = 500


def _signed_in(user):
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in first."))
    return user


def channels_of(user_ids: Iterable[int]):
    """A function (user_id, group) -> (in_app, email_now, digest), from one query."""
    ids = sorted(set(user_ids))
    chosen = {}
    for start in range(0, len(ids), CHUNK):
        query = select(NotificationSetting).where(
            NotificationSetting.user_id.in_(ids[start : start + CHUNK])
        )
        for row in db.session.scalars(query):
            chosen[(row.user_id, row.group)] = (row.in_app, row.email_now, row.digest)

    def lookup(user_id: int, group: str) -> tuple[bool, bool, bool]:
        return chosen.get((user_id, group), DEFAULTS[group])

    return lookup


def settings_of(user) -> dict:
    """``{"groups": {group: {channel: bool}}, "digest": {frequency, hour,
    weekday}}``."""
    lookup = channels_of([user.id])
    schedule = db.session.get(DigestSchedule, user.id)
    return {
        "groups": {
            group: dict(zip(CHANNELS, lookup(user.id, group), strict=True))
            for group in GROUPS
        },
        "digest": {
            "frequency": schedule.frequency if schedule else "daily",
            "hour": schedule.hour if schedule else 7,
            "weekday": schedule.weekday if schedule else 0,
        },
    }


def _whole_in(value, low: int, high: int, name: str) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        raise ValidationFailed(
            _("Give a whole number from %(low)s to %(high)s.", low=low, high=high), name
        )
    return number


def _language() -> str | None:
    """The language the settings are saved in: their mails are written in it."""
    if not has_request_context():
        return None
    language = str(get_locale() or "")
    return language if language in current_app.config["LANGUAGES"] else None


def save_settings(user, groups: dict | None = None, digest: dict | None = None):
    """Store the user's choices; groups or channels not given keep theirs. Mail
    is written in the language of the request that saves them.

    :param groups: ``{group: {channel: bool}}``.
    :param digest: ``{"frequency": "daily"|"weekly", "hour": 0-23, "weekday": 0-6}``.
    :raises ValidationFailed: an unknown group or channel (field ``group`` or
        ``group.channel``), a frequency, hour or weekday out of range (field
        ``digest_frequency``, ``digest_hour``, ``digest_weekday``).
    """
    user = _signed_in(user)
    current = settings_of(user)
    errors = {}
    for group, channels in (groups or {}).items():
        if group not in GROUPS:
            errors[str(group)] = _("There is no such kind of notification.")
            continue
        for channel, value in (channels or {}).items():
            if channel not in CHANNELS:
                errors[f"{group}.{channel}"] = _("There is no such channel.")
            elif not isinstance(value, bool):
                errors[f"{group}.{channel}"] = _("Say true or false.")
            else:
                current["groups"][group][channel] = value
    schedule = dict(current["digest"])
    for name, value in (digest or {}).items():
        try:
            if name == "frequency":
                if value not in DIGEST_FREQUENCIES:
                    raise ValidationFailed(
                        _("Choose daily or weekly."), "digest_frequency"
                    )
                schedule[name] = value
            elif name == "hour":
                schedule[name] = _whole_in(value, 0, 23, "digest_hour")
            elif name == "weekday":
                schedule[name] = _whole_in(value, 0, 6, "digest_weekday")
            else:
                errors[f"digest_{name}"] = _("There is no such setting.")
        except ValidationFailed as error:
            errors.update(error.fields)
    if errors:
        raise ValidationFailed(_("Some settings need another look."), fields=errors)
    for group, channels in current["groups"].items():
        row = db.session.get(NotificationSetting, (user.id, group))
        if row is None:
            row = NotificationSetting(user_id=user.id, group=group)
            db.session.add(row)
        row.in_app = channels["in_app"]
        row.email_now = channels["email_now"]
        row.digest = channels["digest"]
    row = db.session.get(DigestSchedule, user.id) or DigestSchedule(user_id=user.id)
    row.frequency, row.hour = schedule["frequency"], schedule["hour"]
    row.weekday = schedule["weekday"]
    row.language = _language() or row.language
    db.session.add(row)
    db.session.commit()
    return settings_of(user)
