"""Language and timezone selection (Flask-Babel), and the date filters templates use."""

from flask import Flask, current_app, has_request_context, request
from flask_babel import format_date, format_datetime

from portal.extensions import babel


def select_locale() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]  # CLI and background work
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or "en"


def select_timezone() -> str:
    # Dates are shown in the city's zone: a resident reads "7 pm" as their own evening.
    return current_app.config["CITY_TIMEZONE"]


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
