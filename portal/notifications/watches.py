"""Watches: following a thread or an event, watching an area or a circle around a
point; and finding, for a batch of new things, everyone who watches where they are."""

import math
from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from portal.areas.models import Area
from portal.auth.models import RoleGrant
from portal.bounds import check_text
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.notifications.models import Watch

RADIUS_MIN, RADIUS_MAX = 100, 2000  # metres: "my block" up to a neighborhood
MAX_POINTS = 20  # circles per person
LABEL_MAX = 80
ITEM_KINDS = ("thread", "event")
# Captains and liaisons watch the areas they act for, unless they turn it off.
AREA_ROLES = ("captain", "liaison")
EARTH_M = 6_371_000.0
METRES_PER_DEGREE = math.pi * EARTH_M / 180


def _signed_in(user):
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied(_("Sign in first."))
    return user


def metres_between(lat1, lon1, lat2, lon2) -> float:
    """Great-circle distance (haversine): within a city, off by well under 0.5%."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(a)))


# --- following an item ---


def watch_item(user, kind: str, item_id: int, commit: bool = True) -> Watch:
    """Follow a thread or an event (doing it twice changes nothing). The caller's
    domain has checked the item exists and the user may see it.

    :param commit: False inside the caller's own transaction (a reply making its
        author follow the thread).
    :raises ValueError: a kind other than thread or event.
    """
    user = _signed_in(user)
    if kind not in ITEM_KINDS:
        raise ValueError(f"not an item watch: {kind!r}")
    row = _item_watch(user.id, kind, item_id)
    if row is None:
        row = Watch(user_id=user.id, kind=kind, item_id=item_id)
        db.session.add(row)
    row.muted = False
    if commit:
        _commit_watch()
    return row


def unwatch_item(user, kind: str, item_id: int, commit: bool = True) -> bool:
    """Stop following; answers whether there was anything to stop."""
    user = _signed_in(user)
    row = _item_watch(user.id, kind, item_id)
    if row is not None:
        db.session.delete(row)
    if commit:
        db.session.commit()
    return row is not None


def is_watching(user, kind: str, item_id: int) -> bool:
    """Whether the user follows the item (or watches the area, by role included)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    row = _item_watch(user.id, kind, item_id)
    if kind == "area" and row is None:
        return _has_area_role(user.id, item_id)
    return row is not None and not row.muted


def watchers(kind: str, item_ids: Iterable[int]) -> dict[int, set[int]]:
    """Who follows each item, from one query: ``{item_id: {user_id, ...}}``."""
    ids = sorted(set(item_ids))
    found: dict[int, set[int]] = {item_id: set() for item_id in ids}
    if not ids:
        return found
    query = select(Watch.item_id, Watch.user_id).where(
        Watch.kind == kind, Watch.item_id.in_(ids), Watch.muted.is_(False)
    )
    for item_id, user_id in db.session.execute(query):
        found[item_id].add(user_id)
    return found


def _item_watch(user_id: int, kind: str, item_id: int) -> Watch | None:
    return db.session.scalar(
        select(Watch).where(
            Watch.user_id == user_id, Watch.kind == kind, Watch.item_id == item_id
        )
    )


def _commit_watch() -> None:
    try:
        db.session.commit()
    except IntegrityError:  # the same watch made at the same moment elsewhere
        db.session.rollback()


# --- areas ---


def _area(slug: str) -> Area:
    area = db.session.scalar(select(Area).where(Area.slug == (slug or "")))
    if area is None:
        raise NotFound(_("There is no area called %(slug)s.", slug=slug), "area")
    return area


def _has_area_role(user_id: int, area_id: int) -> bool:
    return (
        db.session.scalar(
            select(RoleGrant.id).where(
                RoleGrant.user_id == user_id,
                RoleGrant.area_id == area_id,
                RoleGrant.role.in_(AREA_ROLES),
            )
        )
        is not None
    )


def watch_area(user, slug: str) -> Area:
    """Watch an area: told of what is new in it.

    :raises NotFound: no such area (field ``area``).
    """
    user, area = _signed_in(user), _area(slug)
    row = _item_watch(user.id, "area", area.id)
    if row is None:
        db.session.add(Watch(user_id=user.id, kind="area", item_id=area.id))
    else:
        row.muted = False
    _commit_watch()
    return area


def unwatch_area(user, slug: str) -> Area:
    """Stop watching an area; a captain's or liaison's own area stays muted."""
    user, area = _signed_in(user), _area(slug)
    row = _item_watch(user.id, "area", area.id)
    if _has_area_role(user.id, area.id):
        if row is None:
            row = Watch(user_id=user.id, kind="area", item_id=area.id)
            db.session.add(row)
        row.muted = True
    elif row is not None:
        db.session.delete(row)
    _commit_watch()
    return area


# --- circles around a point ---


def _coordinate(value, name: str, limit: float) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or not -limit <= number <= limit:
        raise ValidationFailed(
            _("Give a number from %(low)s to %(high)s.", low=-limit, high=limit), name
        )
    return number


def watch_point(user, lat, lon, radius_m, label: str = "") -> Watch:
    """Watch a circle of 100 m to 2 km around a point ("my block").

    :raises ValidationFailed: naming ``lat``, ``lon``, ``radius`` or ``label``.
    :raises Conflict: already 20 circles (field ``radius``).
    """
    user = _signed_in(user)
    lat = _coordinate(lat, "lat", 90)
    lon = _coordinate(lon, "lon", 180)
    try:
        radius = int(str(radius_m).strip())
    except (TypeError, ValueError):
        radius = None
    if radius is None or not RADIUS_MIN <= radius <= RADIUS_MAX:
        raise ValidationFailed(
            _(
                "Give a radius from %(low)s to %(high)s metres.",
                low=RADIUS_MIN,
                high=RADIUS_MAX,
            ),
            "radius",
        )
    label = check_text((label or "").strip(), "label")
    if len(label) > LABEL_MAX:
        raise ValidationFailed(_("Use at most 80 characters."), "label")
    held = db.session.scalars(
        select(Watch.id).where(Watch.user_id == user.id, Watch.kind == "point")
    ).all()
    if len(held) >= MAX_POINTS:
        raise Conflict(
            _("You watch %(n)s places already: remove one first.", n=MAX_POINTS),
            "radius",
        )
    dlat = radius / METRES_PER_DEGREE
    # Longitude degrees shrink toward the poles; never divide by (nearly) zero.
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    row = Watch(
        user_id=user.id,
        kind="point",
        lat=lat,
        lon=lon,
        radius_m=radius,
        label=label or None,
        min_lat=lat - dlat,
        max_lat=lat + dlat,
        min_lon=lon - dlon,
        max_lon=lon + dlon,
    )
    db.session.add(row)
    db.session.commit()
    return row


def remove_watch(user, watch_id: int) -> None:
    """Remove one of the user's watches by id.

    :raises NotFound: no such watch of theirs.
    """
    user = _signed_in(user)
    row = db.session.get(Watch, watch_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("There is no watch %(id)s.", id=watch_id), "watch")
    db.session.delete(row)
    db.session.commit()


def watches_of(user) -> list[Watch]:
    """The user's watches, areas and circles first, newest first within each."""
    rows = db.session.scalars(
        select(Watch)
        .where(Watch.user_id == user.id, Watch.muted.is_(False))
        .order_by(Watch.kind, Watch.id.desc())
    )
    return list(rows)


def default_areas(user) -> list[Area]:
    """The areas the user watches by role (captain, liaison) and has not muted."""
    muted = select(Watch.item_id).where(
        Watch.user_id == user.id, Watch.kind == "area", Watch.muted.is_(True)
    )
    return list(
        db.session.scalars(
            select(Area)
            .join(RoleGrant, RoleGrant.area_id == Area.id)
            .where(RoleGrant.user_id == user.id, RoleGrant.role.in_(AREA_ROLES))
            .where(Area.id.not_in(muted))
            .distinct()
            .order_by(Area.name)
        )
    )


# --- who watches where new things are ---


@dataclass(frozen=True)
class Place:
    """Where a new thing is: ``key`` names it for the caller (a ticket id)."""

    key: object
    lat: float | None
    lon: float | None
    area_id: int | None


def watchers_of_places(places: Iterable[Place]) -> dict[object, set[int]]:
    """Everyone watching each place's area (or acting for it) or a circle around
    it: ``{key: {user_id, ...}}``, for a whole batch in three queries (area watches,
    area roles, circles in the batch's box), never one per place."""
    places = list(places)
    found: dict[object, set[int]] = {place.key: set() for place in places}
    by_area: dict[int, list[Place]] = {}
    for place in places:
        if place.area_id is not None:
            by_area.setdefault(place.area_id, []).append(place)
    if by_area:
        watching, muted = {}, set()
        rows = db.session.execute(
            select(Watch.item_id, Watch.user_id, Watch.muted).where(
                Watch.kind == "area", Watch.item_id.in_(sorted(by_area))
            )
        )
        for area_id, user_id, is_muted in rows:
            if is_muted:
                muted.add((area_id, user_id))
            else:
                watching.setdefault(area_id, set()).add(user_id)
        roles = db.session.execute(
            select(RoleGrant.area_id, RoleGrant.user_id).where(
                RoleGrant.area_id.in_(sorted(by_area)), RoleGrant.role.in_(AREA_ROLES)
            )
        )
        for area_id, user_id in roles:
            if (area_id, user_id) not in muted:
                watching.setdefault(area_id, set()).add(user_id)
        for area_id, members in by_area.items():
            for place in members:
                found[place.key] |= watching.get(area_id, set())
    located = [p for p in places if p.lat is not None and p.lon is not None]
    if located:
        for place, user_id in _in_circles(located):
            found[place.key].add(user_id)
    return found


CELL = 0.02  # degrees: a grid for matching circles to places in memory


def _in_circles(places: list[Place]):
    """(place, user_id) for every circle containing a place: one range query for the
    circles whose boxes meet the batch's box, then the grid and the exact distance."""
    south, north = min(p.lat for p in places), max(p.lat for p in places)
    west, east = min(p.lon for p in places), max(p.lon for p in places)
    circles = db.session.execute(
        select(
            Watch.user_id,
            Watch.lat,
            Watch.lon,
            Watch.radius_m,
            Watch.min_lat,
            Watch.max_lat,
            Watch.min_lon,
            Watch.max_lon,
        ).where(
            Watch.kind == "point",
            and_(Watch.max_lat >= south, Watch.min_lat <= north),
            and_(Watch.max_lon >= west, Watch.min_lon <= east),
        )
    ).all()
    if not circles:
        return
    grid: dict[tuple[int, int], list[Place]] = {}
    for place in places:
        cell = (math.floor(place.lat / CELL), math.floor(place.lon / CELL))
        grid.setdefault(cell, []).append(place)
    for user_id, lat, lon, radius, s, n, w, e in circles:
        for row in range(math.floor(s / CELL), math.floor(n / CELL) + 1):
            for column in range(math.floor(w / CELL), math.floor(e / CELL) + 1):
                for place in grid.get((row, column), ()):
                    if metres_between(lat, lon, place.lat, place.lon) <= radius:
                        yield place, user_id
