"""Area rules: import GeoJSON polygons, find the area holding a point, list, fetch."""

import json
import math
from collections.abc import Callable, Iterable

import shapely
from flask_babel import gettext as _
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from slugify import slugify
from sqlalchemy import select

from portal.areas.models import Area
from portal.dbtypes import utcnow
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db


def _as_multipolygon(geometry) -> MultiPolygon:
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    if isinstance(geometry, MultiPolygon):
        return geometry
    polygons = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon)]
    if not polygons:
        raise ValidationFailed(_("The geometry is not a polygon."), field="geometry")
    return MultiPolygon(polygons)


def _apply_geometry(area: Area, geometry) -> None:
    polygon = _as_multipolygon(geometry)
    area.geometry = json.dumps(mapping(polygon), separators=(",", ":"))
    area.min_lon, area.min_lat, area.max_lon, area.max_lat = polygon.bounds
    label = polygon.representative_point()
    area.label_lat, area.label_lon = label.y, label.x
    area.updated_at = utcnow()


def upsert_area(name: str, geometry, slug: str | None = None) -> Area:
    """Create or update (by slug) one area without committing.

    :param geometry: a shapely geometry or a GeoJSON geometry mapping.
    :raises ValidationFailed: the name is empty or the geometry holds no polygon.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Every area needs a name."), field="name")
    slug = slug or slugify(name, max_length=100)
    if isinstance(geometry, dict):
        geometry = shape(geometry)
    area = db.session.scalar(select(Area).where(Area.slug == slug))
    if area is None:
        area = Area(slug=slug, name=name)
        db.session.add(area)
    area.name = name
    _apply_geometry(area, geometry)
    return area


def import_features(
    collection: dict,
    name_property: str,
    progress: Callable[[int], None] | None = None,
) -> list[Area]:
    """Import every polygon feature of a GeoJSON FeatureCollection, all or nothing.

    Features with the same name merge into one area (some sources split one).

    :param name_property: the feature property holding the area's display name.
    :raises ValidationFailed: not a FeatureCollection, or a feature without name or
    polygon
        (the message names the feature's position).
    """
    if (
        not isinstance(collection, dict)
        or collection.get("type") != "FeatureCollection"
    ):
        raise ValidationFailed(
            _("The file is not a GeoJSON FeatureCollection."), "file"
        )
    features = collection.get("features") or []
    by_name: dict[str, list] = {}
    for index, feature in enumerate(features, start=1):
        name = str((feature.get("properties") or {}).get(name_property) or "").strip()
        if not name:
            raise ValidationFailed(
                _(
                    "Feature %(n)d has no property %(p)s.",
                    n=index,
                    p=name_property,
                ),
                field="name_property",
            )
        try:
            geometry = shape(feature.get("geometry"))
        except (AttributeError, TypeError, ValueError, shapely.errors.GEOSException):
            raise ValidationFailed(
                _(
                    "Feature %(n)d (%(name)s) has no valid geometry.",
                    n=index,
                    name=name,
                ),
                field="geometry",
            ) from None
        by_name.setdefault(name, []).append(geometry)
        if progress:
            progress(1)
    areas = []
    try:
        for name, geometries in by_name.items():
            merged = (
                shapely.union_all(geometries) if len(geometries) > 1 else geometries[0]
            )
            areas.append(upsert_area(name, merged))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return areas


def save_areas(named_geometries: Iterable[tuple[str, object]]) -> list[Area]:
    """Upsert many (name, geometry) pairs in one transaction."""
    areas = [upsert_area(name, geometry) for name, geometry in named_geometries]
    db.session.commit()
    return areas


def _check_coordinate(value, field: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Must be a number."), field=field) from None
    if not math.isfinite(number) or not low <= number <= high:
        raise ValidationFailed(
            _("Must be between %(low)s and %(high)s.", low=low, high=high), field=field
        )
    return number


def locate(lat, lon) -> Area | None:
    """The area whose polygon covers the point, or None when no area does.

    :raises ValidationFailed: lat or lon is not a finite number in range (field named).
    """
    lat = _check_coordinate(lat, "lat", -90, 90)
    lon = _check_coordinate(lon, "lon", -180, 180)
    candidates = db.session.scalars(
        select(Area)
        .where(Area.min_lat <= lat, Area.max_lat >= lat)
        .where(Area.min_lon <= lon, Area.max_lon >= lon)
        .order_by(Area.id)
    ).all()
    return next((area for area in candidates if _covers(area, lat, lon)), None)


class Locator:
    """Point-to-area lookups over the areas as they are now, for batch work: one query
    up front instead of one per point (which would also flush a pending batch)."""

    def __init__(self):
        self.areas = list(db.session.scalars(select(Area).order_by(Area.id)))

    def __call__(self, lat: float | None, lon: float | None) -> Area | None:
        if lat is None or lon is None:
            return None
        return next((a for a in self.areas if _covers(a, lat, lon)), None)


def _covers(area: Area, lat: float, lon: float) -> bool:
    in_box = area.min_lat <= lat <= area.max_lat and area.min_lon <= lon <= area.max_lon
    if not in_box:
        return False
    polygon = _prepared(area.id, area.updated_at, area.geometry)
    return polygon.covers(shapely.Point(lon, lat))


_SHAPES: dict[int, tuple] = {}


def _prepared(area_id: int, version, geometry: str):
    """The area's polygon, parsed and prepared once per version of it."""
    cached = _SHAPES.get(area_id)
    if cached is None or cached[0] != version:
        polygon = shape(json.loads(geometry))
        shapely.prepare(polygon)
        cached = _SHAPES[area_id] = (version, polygon)
    return cached[1]


def list_areas() -> list[Area]:
    """Every area, by name."""
    return list(db.session.scalars(select(Area).order_by(Area.name)))


def get_area(slug: str) -> Area:
    """:raises NotFound: no area has that slug."""
    area = db.session.scalar(select(Area).where(Area.slug == slug))
    if area is None:
        raise NotFound(_("There is no area called %(slug)s.", slug=slug), field="area")
    return area


def area_feature(area: Area, with_geometry: bool = True) -> dict:
    """The area as a GeoJSON Feature (id and properties.slug are the slug)."""
    return {
        "type": "Feature",
        "id": area.slug,
        "properties": {
            "slug": area.slug,
            "name": area.name,
            "bbox": list(area.bbox),
            "label": [area.label_lon, area.label_lat],
        },
        "geometry": json.loads(area.geometry) if with_geometry else None,
    }
