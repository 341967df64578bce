"""Language and timezone selection (Flask-Babel), and the date filters templates use."""

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, has_request_context, request
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _

from portal.bounds import storable_moment
from portal.errors import ValidationFailed
from portal.extensions import babel


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]  # CLI and background work
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "en"


def select_timezone() -> str:
    # Dates are shown in the city's zone: a resident reads "7 pm" as their own evening.
    return current_app.config["CITY_TIMEZONE"]


def city_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["CITY_TIMEZONE"])


def city_time(text: str, field: str) -> datetime:
    """What a form typed ("2026-12-05", "2026-12-05T18:30"), read in the city's zone
    unless it names its own offset. :raises ValidationFailed: naming the field."""
    try:
        moment = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed(_("Give a date like 2026-12-05."), field) from None
    return _storable(moment, field)


def city_datetime(date_text: str, time_text: str, field: str) -> datetime:
    """A date and a time from two form fields, in the city's zone."""
    try:
        moment = datetime.fromisoformat(f"{date_text.strip()}T{time_text.strip()}")
    except (AttributeError, ValueError):
        raise ValidationFailed(_("Give the date and time."), field) from None
    return _storable(moment, field)


def _storable(moment: datetime, field: str) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=city_zone())
    storable_moment(moment, field)  # years 1 and 9999 overflow once in UTC
    return moment


def init_i18n(app: Flask) -> None:
    babel.init_app(
        app, locale_selector=select_locale, timezone_selector=select_timezone
    )
    app.jinja_env.filters["datetime"] = lambda value, fmt="medium": (
        format_datetime(value, fmt) if value else ""
    )
    app.jinja_env.filters["date"] = lambda value, fmt="medium": (
        format_date(value, fmt) if value else ""
    )
