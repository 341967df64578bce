"""JSON API v1 for areas: the GeoJSON list and point lookup."""

import marshmallow as ma
from flask_smorest import Blueprint

from portal.areas import services

blp = Blueprint("areas_api", __name__, description="Neighborhoods (areas).")


class AreaListQuery(ma.Schema):
    geometry = ma.fields.Boolean(
        load_default=True,
        metadata={"description": "Include the polygons (default true)."},
    )


class LocateQuery(ma.Schema):
    lat = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(-90, 90)
    )
    lon = ma.fields.Float(
        required=True, allow_nan=False, validate=ma.validate.Range(-180, 180)
    )


class AreaProperties(ma.Schema):
    slug = ma.fields.String()
    name = ma.fields.String()
    bbox = ma.fields.List(ma.fields.Float())
    label = ma.fields.List(ma.fields.Float())


class AreaFeature(ma.Schema):
    type = ma.fields.String(metadata={"example": "Feature"})
    id = ma.fields.String()
    properties = ma.fields.Nested(AreaProperties)
    geometry = ma.fields.Dict(allow_none=True)


class AreaCollection(ma.Schema):
    type = ma.fields.String(metadata={"example": "FeatureCollection"})
    features = ma.fields.List(ma.fields.Nested(AreaFeature))


class LocateResult(ma.Schema):
    area = ma.fields.Nested(
        AreaFeature,
        allow_none=True,
        metadata={"description": "The area holding the point, or null when none does."},
    )


@blp.get("")
@blp.arguments(AreaListQuery, location="query")
@blp.response(200, AreaCollection)
def list_areas(query):
    """Every area as a GeoJSON FeatureCollection."""
    return {
        "type": "FeatureCollection",
        "features": [
            services.area_feature(area, query["geometry"])
            for area in services.list_areas()
        ],
    }


@blp.get("/locate")
@blp.arguments(LocateQuery, location="query")
@blp.response(200, LocateResult)
def locate(query):
    """The area a point lies in; `area` is null when the point is in none."""
    area = services.locate(query["lat"], query["lon"])
    return {"area": services.area_feature(area, with_geometry=False) if area else None}
