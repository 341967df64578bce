"""What may enter: whole numbers, text and datetimes that both databases can hold."""

import re
from datetime import UTC, datetime

from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from portal.errors import ValidationFailed

# Every id column is an INTEGER: PostgreSQL's is 32 bits, and SQLite refuses Python
# ints past 64. Nothing larger can name a row, count rows or number a page.
MAX_WHOLE = 2**31 - 1

# Dates outside this span mean nothing to a neighborhood, and at the calendar's very
# edges converting a zone to UTC overflows Python's datetime.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)

# NUL (PostgreSQL cannot store it), C0 controls but tab, newline and carriage return,
# DEL, and lone surrogates (not encodable as UTF-8, so no page or database holds them).
_BAD_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class WholeConverter(IntegerConverter):
    """The ``<int:…>`` of every route: a number past ``MAX_WHOLE`` matches no route,
    so it answers 404 like any other id that names nothing."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(
            map, fixed_digits, min, MAX_WHOLE if max is None else max, signed
        )


def whole(text) -> int:
    """A whole number within the databases' range, as ``type=`` for request args.

    :raises ValueError: not a whole number, or too large (werkzeug then answers the
        default, as for any unreadable value).
    """
    value = int(str(text).strip())
    if not -MAX_WHOLE <= value <= MAX_WHOLE:
        raise ValueError("out of range")
    return value


def is_valid_text(text: str) -> bool:
    return _BAD_TEXT.search(text) is None


def bad_text_field(value, name: str = "") -> str | None:
    """The first field name (dotted path) whose key or text is not valid text."""
    if isinstance(value, str):
        return None if is_valid_text(value) else (name or "body")
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        path = f"{name}.{key}" if name else str(key)
        if isinstance(key, str) and not is_valid_text(key):
            return name or "body"
        found = bad_text_field(item, path)
        if found:
            return found
    return None


def invalid_text_error(field: str) -> ValidationFailed:
    return ValidationFailed(
        _("Contains characters that are not valid text."),
        field,
    )


def check_text(value, field: str):
    """:raises ValidationFailed: ``value`` (text, or lists and dicts of it, keys
    included) holds a character no database stores, naming ``field``."""
    found = bad_text_field(value, field)
    if found:
        raise invalid_text_error(found)
    return value


def _in_span(moment: datetime) -> bool:
    # Judged on the wall clock, a day inside each edge: astimezone() itself overflows
    # at year 1 and year 9999, and no offset reaches a day.
    wall = moment.replace(tzinfo=None)
    return datetime(1900, 1, 2) <= wall <= datetime(2999, 12, 31)


def clamp_moment(moment: datetime) -> datetime:
    """An aware datetime brought into ``EARLIEST``..``LATEST``, in UTC: for filters,
    where "from year 1" means "from the start"."""
    if _in_span(moment):
        return moment.astimezone(UTC)
    return EARLIEST if moment.year < 2000 else LATEST


def storable_moment(moment: datetime, field: str) -> datetime:
    """An aware datetime that will be stored, in UTC.

    :raises ValidationFailed: outside ``EARLIEST``..``LATEST``, naming ``field``.
    """
    if not _in_span(moment):
        raise ValidationFailed(
            _(
                "Give a date between %(first)s and %(last)s.",
                first=EARLIEST.year,
                last=LATEST.year - 1,
            ),
            field,
        )
    return moment.astimezone(UTC)
