"""Atom feeds (feedgen): what is new in an area, public; and in the places a person
watches, private behind a key they can see and reset.

A feed's entries come from sources the domains register (``register_feed_source``:
tickets adds new requests and the city's status changes), so this package still
imports no domain. Each feed holds the latest 50 entries, newest first, times in
UTC. A private address is ``<token>`` signed with SECRET_KEY (salt of its own)
over the account and its current key (``FeedKey``): a reset draws a new key and
every address made with the old one answers 404.
"""

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

from feedgen.feed import FeedGenerator
from flask import current_app, request
from flask_babel import get_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer

from portal.areas.models import Area
from portal.auth.models import User
from portal.dbtypes import utcnow
from portal.errors import NotFound
from portal.extensions import db
from portal.notifications.models import FeedKey, Watch
from portal.notifications.watches import default_areas, watches_of

LIMIT = 50  # entries per feed
SALT = "notifications-place-feed"
FIRST_KEY = "first"  # the key of someone who never reset theirs (no row)
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)  # an empty feed's "updated": stable


@dataclass(frozen=True)
class Circle:
    lat: float
    lon: float
    radius_m: int


@dataclass(frozen=True)
class Scope:
    """Where a feed looks: areas by id, and circles around points."""

    area_ids: tuple[int, ...] = ()
    circles: tuple[Circle, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.area_ids or self.circles)


@dataclass(frozen=True)
class FeedEntry:
    """One entry: ``key`` is unique and permanent within its source (the entry's
    Atom id is made from it); ``link`` a path on the portal; ``updated`` aware."""

    key: str
    title: str
    link: str
    updated: datetime
    summary: str | None = None


@dataclass
class Feed:
    title: str
    self_url: str
    alternate_url: str
    feed_id: str
    entries: list[FeedEntry] = field(default_factory=list)


_SOURCES: list[Callable[[Scope, int], list[FeedEntry]]] = []


def register_feed_source(source: Callable[[Scope, int], list[FeedEntry]]) -> None:
    """Add what a domain contributes to feeds: ``source(scope, limit)`` answers at
    most ``limit`` entries inside the scope, newest first (one or two queries)."""
    if source not in _SOURCES:
        _SOURCES.append(source)


def entries_for(scope: Scope, limit: int = LIMIT) -> list[FeedEntry]:
    """The newest ``limit`` entries of every source inside ``scope``."""
    if not scope:
        return []
    found = [entry for source in _SOURCES for entry in source(scope, limit)]
    found.sort(key=lambda entry: (entry.updated, entry.key), reverse=True)
    return found[:limit]


def absolute(path: str) -> str:
    # PUBLIC_URL when set: a public feed is kept by shared caches, so a forged
    # Host header must not put another site's links into the copy they keep.
    # The path carries the script root already: only the origin is taken.
    return urljoin(current_app.config.get("PUBLIC_URL") or request.host_url, path)


def _tag(specific: str) -> str:
    host = urlsplit(absolute("/")).hostname or "localhost"
    return f"tag:{host},2026:{specific}"


def atom(feed: Feed) -> bytes:
    """The feed as an Atom 1.0 document."""
    generator = FeedGenerator()
    generator.id(feed.feed_id)
    generator.title(feed.title)
    generator.link(href=feed.alternate_url, rel="alternate", type="text/html")
    generator.link(href=feed.self_url, rel="self", type="application/atom+xml")
    generator.language(str(get_locale() or "en"))
    generator.author({"name": _("%(city)s neighborhood portal", city=_city())})
    generator.generator("Neighborhood Portal", uri=absolute("/"))
    newest = max((entry.updated for entry in feed.entries), default=EPOCH)
    generator.updated(newest.astimezone(UTC))
    # feedgen writes entries in the reverse order of adding: oldest first in.
    for entry in reversed(feed.entries):
        item = generator.add_entry()
        item.id(_tag(entry.key))
        item.title(entry.title)
        item.link(href=absolute(entry.link), rel="alternate", type="text/html")
        item.updated(entry.updated.astimezone(UTC))
        if entry.summary:
            item.summary(entry.summary)
    return generator.atom_str(pretty=False)


def _city() -> str:
    return current_app.config["CITY_NAME"]


def area_feed(area: Area, self_path: str, area_path: str) -> Feed:
    return Feed(
        title=_("New in %(area)s", area=area.name),
        self_url=absolute(self_path),
        alternate_url=absolute(area_path),
        feed_id=_tag(f"area-{area.slug}"),
        entries=entries_for(Scope(area_ids=(area.id,))),
    )


# --- private feeds of watched places ---


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _key_of(user_id: int) -> str:
    row = db.session.get(FeedKey, user_id)
    return row.key if row else FIRST_KEY


def feed_token(user: User) -> str:
    """The secret part of the person's private feed addresses."""
    return _signer().dumps([user.id, _key_of(user.id)])


def reset_feed_token(user: User) -> str:
    """Draw a new key: the old addresses stop working. Commits; answers the new
    token."""
    row = db.session.get(FeedKey, user.id) or FeedKey(user_id=user.id)
    row.key, row.reset_at = secrets.token_urlsafe(16)[:32], utcnow()
    db.session.add(row)
    db.session.commit()
    return feed_token(user)


def _no_feed() -> NotFound:
    return NotFound(
        _(
            "This feed address is not valid or was reset: copy the current one from "
            "the page of places you watch."
        ),
        "token",
    )


def user_for_token(token: str) -> User:
    """:raises NotFound: forged, damaged, or made with a key since reset."""
    try:
        value = _signer().loads(token)
    except BadSignature:
        raise _no_feed() from None
    if not (isinstance(value, list) and len(value) == 2):
        raise _no_feed()
    user_id, key = value
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or not isinstance(key, str):
        raise _no_feed()
    if not hmac.compare_digest(key.encode(), _key_of(user.id).encode()):
        raise _no_feed()
    return user


def _watched(user: User, watch_id: int | None) -> list[Watch]:
    watched = [w for w in watches_of(user) if w.kind in ("area", "point")]
    if watch_id is None:
        return watched
    watched = [w for w in watched if w.id == watch_id]
    if not watched:
        raise NotFound(_("There is no watch %(id)s.", id=watch_id), "watch")
    return watched


def scope_of(user: User, watch_id: int | None = None) -> Scope:
    """Where the person's feed looks: every area (theirs by role too) and circle
    they watch, or the one watch named.

    :raises NotFound: ``watch_id`` is not an area or circle watch of theirs.
    """
    watched = _watched(user, watch_id)
    areas = {w.item_id for w in watched if w.kind == "area"}
    if watch_id is None:
        areas |= {area.id for area in default_areas(user)}
    circles = tuple(
        Circle(w.lat, w.lon, w.radius_m) for w in watched if w.kind == "point"
    )
    return Scope(tuple(sorted(areas)), circles)


def place_feed(user: User, watch_id: int | None, self_path: str, page: str) -> Feed:
    """The private feed of the person's places (``watch_id``: of that one alone).

    :raises NotFound: ``watch_id`` is not an area or circle watch of theirs.
    """
    scope = scope_of(user, watch_id)
    # The id names the person without showing their account number.
    secret = current_app.config["SECRET_KEY"]
    secret = secret.encode() if isinstance(secret, str) else secret
    who = hmac.new(secret, f"feed:{user.id}".encode(), hashlib.sha256).hexdigest()
    specific = f"places-{who[:16]}" + (f"-{watch_id}" if watch_id else "")
    if watch_id is None:
        title = _("New in the places I watch")
    else:
        (watch,) = _watched(user, watch_id)
        if watch.kind == "point":
            place = watch.label or _("a place I watch")
            title = _("New around %(place)s", place=place)
        else:
            area = db.session.get(Area, watch.item_id)
            title = _("New in %(area)s", area=area.name if area else "")
    return Feed(
        title=title,
        self_url=absolute(self_path),
        alternate_url=absolute(page),
        feed_id=_tag(specific),
        entries=entries_for(scope),
    )
