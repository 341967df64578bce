"""What can be told: each kind of notification, its group (what settings switch),
its words, and the channels a group uses until the person chooses."""

from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

CHANNELS = ("in_app", "email_now", "digest")

# Settings are per group, not per kind: a person decides about "requests I follow",
# not about every way such a request can change. Ordered as the settings page shows.
GROUPS = {
    "my_tickets": _l("Requests I filed: sent, refused or held"),
    "followed": _l("Requests I follow: status and the city's notes"),
    "places": _l("New in the areas and places I watch"),
    "threads": _l("Replies in threads I watch and to my posts"),
    "mentions": _l("Mentions of me"),
    "events": _l("Events I answered"),
    "account": _l("My batches and decisions about my posts or account"),
}

# (in_app, email_now, digest) for someone who has not chosen: what a resident expects
# to hear at once about their own requests and words; the rest waits for the digest.
DEFAULTS = {
    "my_tickets": (True, True, False),
    "followed": (True, False, True),
    "places": (True, False, True),
    "threads": (True, False, True),
    "mentions": (True, True, False),
    "events": (True, True, False),
    "account": (True, True, False),
}


@dataclass(frozen=True)
class Kind:
    code: str
    group: str
    # %(name)s placeholders filled from the notification's values (and "actor").
    words: object


_KINDS: dict[str, Kind] = {}


def register_kind(code: str, group: str, words) -> Kind:
    """Make a kind known (a domain adding one of its own calls this at import).

    :param words: a lazy_gettext string with ``%(name)s`` placeholders for values.
    :raises ValueError: an unknown group, or the code is taken by another group.
    """
    if group not in GROUPS:
        raise ValueError(f"unknown notification group {group!r}")
    known = _KINDS.get(code)
    if known is not None and known.group != group:
        raise ValueError(f"notification kind {code!r} is already in {known.group!r}")
    kind = Kind(code, group, words)
    _KINDS[code] = kind
    return kind


def get_kind(code: str) -> Kind:
    """:raises ValueError: no such kind (a programming error, not the user's)."""
    try:
        return _KINDS[code]
    except KeyError:
        raise ValueError(f"unknown notification kind {code!r}") from None


def kinds() -> dict[str, Kind]:
    return dict(_KINDS)


class _Blank(dict):
    # A value a producer did not give reads as nothing, never as an error.
    def __missing__(self, key):
        return ""


def describe(code: str, values: Mapping, actor: str | None = None) -> str:
    """The notification's sentence in the current language."""
    kind = _KINDS.get(code)
    fill = _Blank({k: v for k, v in (values or {}).items() if v is not None})
    fill.setdefault("actor", actor or gettext("Someone"))
    if "status" in fill:
        fill["status"] = status_words(fill["status"])
    if kind is None:  # a kind whose domain is gone: still something to read
        return fill.get("title") or gettext("Something changed.")
    # A value left out (no note) leaves no dangling space at the end.
    return (str(kind.words) % fill).strip()


_STATUS = {"open": _l("open"), "closed": _l("closed")}


def status_words(status: str) -> str:
    """The city's status in words (GeoReport v2 knows open and closed)."""
    words = _STATUS.get(str(status).lower())
    return str(words) if words is not None else str(status)


for _code, _group, _words in (
    ("ticket_sent", "my_tickets", _l("%(title)s reached the city as %(city_id)s.")),
    ("ticket_rejected", "my_tickets", _l("The city refused %(title)s: %(reason)s")),
    (
        "ticket_held",
        "my_tickets",
        _l(
            "%(title)s is waiting: the city keeps answering with an error "
            "(%(reason)s). An admin will look at it."
        ),
    ),
    ("ticket_status", "followed", _l("%(title)s is now %(status)s. %(note)s")),
    ("ticket_note", "followed", _l("The city wrote about %(title)s: %(note)s")),
    (
        "new_ticket_in_place",
        "places",
        _l("New request in a place you watch: %(title)s, %(address)s"),
    ),
    ("new_event", "places", _l("New event in %(area)s: %(title)s")),
    ("new_meeting", "places", _l("New meeting in %(area)s: %(title)s")),
    ("minutes_published", "places", _l("Minutes published: %(title)s")),
    ("reply", "threads", _l("%(actor)s replied in %(title)s")),
    ("post_reply", "threads", _l("%(actor)s replied to your post in %(title)s")),
    ("mention", "mentions", _l("%(actor)s mentioned you in %(title)s")),
    ("event_changed", "events", _l("%(title)s changed: %(what)s")),
    ("event_cancelled", "events", _l("%(title)s is cancelled.")),
    ("event_promoted", "events", _l("A place opened up: you are going to %(title)s.")),
    ("event_soon", "events", _l("%(title)s starts %(when)s.")),
    ("batch_finished", "account", _l("Your batch %(title)s is done: %(counts)s")),
    (
        "moderation_decision",
        "account",
        _l("A moderator decided about %(title)s: %(reason)s"),
    ),
):
    register_kind(_code, _group, _words)
