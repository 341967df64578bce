"""JSON API v1: tickets as GeoJSON for a map viewport or around a point."""

import math

import marshmallow as ma
import orjson
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from portal.apiv1 import When, Whole
from portal.caching import memoized_public
from portal.map import services, stamps
from portal.map.filters import ticket_filter
from portal.memo import answers

blp = Blueprint(
    "map_api", __name__, description="Tickets on the map (GeoJSON, clustered)."
)

MAX_RADIUS = 5000
MAX_LIMIT = 1000


class Numbers(ma.fields.Field):
    """Comma-separated finite numbers, exactly ``count`` of them."""

    default_error_messages = {
        "count": _l("Give {count} numbers separated by commas."),
        "finite": _l("Every number must be finite."),
    }

    def __init__(self, count: int, **kwargs):
        super().__init__(**kwargs)
        self.count = count

    def _deserialize(self, value, attr, data, **kwargs):
        parts = str(value).split(",")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise self.make_error("count", count=self.count) from None
        if len(numbers) != self.count:
            raise self.make_error("count", count=self.count)
        if not all(math.isfinite(number) for number in numbers):
            raise self.make_error("finite")
        return numbers


class CommaList(ma.fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        items = tuple(item.strip() for item in str(value).split(",") if item.strip())
        if not items or len(items) > 50:
            raise ma.ValidationError(_l("Give 1 to 50 values separated by commas."))
        return items


class TicketsQuery(ma.Schema):
    bbox = Numbers(
        4, metadata={"description": "west,south,east,north in degrees (WGS84)."}
    )
    near = Numbers(2, metadata={"description": "lat,lon: tickets nearest first."})
    radius = ma.fields.Float(
        load_default=1000,
        validate=ma.validate.Range(1, MAX_RADIUS),
        metadata={"description": "Metres around `near` (at most 5,000)."},
    )
    status = CommaList(
        metadata={"description": "open (default), closed, or any; comma-separated."}
    )
    service_code = CommaList(metadata={"description": "Comma-separated codes."})
    since = When(
        clamp=True,
        default_timezone=None,
        metadata={"description": "Only tickets requested at or after (ISO 8601)."},
    )
    area = ma.fields.String(metadata={"description": "An area's slug."})
    zoom = Whole(
        load_default=16,
        validate=ma.validate.Range(0, 22),
        metadata={"description": "Map zoom; below 16 the answer is clusters."},
    )
    limit = Whole(load_default=500, validate=ma.validate.Range(1, MAX_LIMIT))

    @ma.validates_schema
    def one_place(self, data, **kwargs):
        if ("bbox" in data) == ("near" in data):
            raise ma.ValidationError(_l("Give either bbox or near."), "bbox")
        if "bbox" in data:
            west, south, east, north = data["bbox"]
            if not (-180 <= west <= 180 and -180 <= east <= 180):
                raise ma.ValidationError(_l("Longitudes lie within ±180."), "bbox")
            if not (-90 <= south <= 90 and -90 <= north <= 90):
                raise ma.ValidationError(_l("Latitudes lie within ±90."), "bbox")
            if west > east or south > north:
                raise ma.ValidationError(
                    _l("Give west before east and south before north."), "bbox"
                )
        if "near" in data:
            lat, lon = data["near"]
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ma.ValidationError(
                    _l("Give lat (within ±90) then lon (within ±180)."), "near"
                )


def ticket_feature(row, metres: float | None = None) -> dict:
    # Unpacked by position: this runs for every ticket of every answer.
    (ticket_id, lat, lon, status, code, name, address, requested, supporters,
     excerpt, *_ranking) = row  # fmt: skip
    properties = {
        "id": ticket_id,
        "status": status,
        "service_code": code,
        "service_name": name,
        "address": address,
        "requested_at": services.iso_utc(requested),
        "supporters": supporters,
        "description": excerpt,
        "url": f"/tickets/{ticket_id}",
    }
    if metres is not None:
        properties["distance"] = round(metres, 1)
    return {
        "type": "Feature",
        "id": ticket_id,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": properties,
    }


def cluster_feature(cluster: dict) -> dict:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [cluster["lon"], cluster["lat"]]},
        "properties": {
            "cluster": True,
            "count": cluster["count"],
            "statuses": cluster["statuses"],
            "bounds": cluster["bounds"],
        },
    }


@blp.get("")
# An instance, not the class: webargs would build (deep-copy) a schema per request.
@blp.arguments(TicketsQuery(), location="query")
@blp.response(
    200,
    description=(
        "A GeoJSON FeatureCollection. Single tickets carry `id`, `status`, "
        "`service_code`, `service_name`, `address`, `requested_at`, `supporters`, "
        "`description` (the first 140 characters) and `url` (with `distance` in "
        "metres for `near`); clusters carry `cluster: true`, `count`, `statuses` "
        "(count by status) and `bounds` (the cell, west,south,east,north). "
        "`ETag` is set: send `If-None-Match` to get 304 when nothing changed."
    ),
)
@blp.alt_response(422, response="DEFAULT_ERROR", description="A parameter is wrong.")
def list_tickets(query):
    """Tickets around a point (nearest first) or in a map viewport (clustered when
    zoomed out)."""
    # Checked on every request, kept or not: an unknown code or area is still a 422.
    filters = ticket_filter(query)
    memo = answers()
    key = None
    if memo is not None:
        stamp = stamps.read(stamps.TICKETS)  # before the data: see stamps.read
        if stamp is not None:
            key = ("map_api.tickets", stamp, _place(query), filters, query["limit"])
    return memoized_public(
        memo, key, lambda: _answer(query, filters), "application/geo+json"
    )


def _place(query: dict) -> tuple:
    """What locates the answer, normalized (what the answer does not use is left
    out). Neither Accept nor the locale changes the body: they are not in the key."""
    if "near" in query:
        return ("near", *query["near"], query["radius"])
    return ("bbox", *query["bbox"], query["zoom"])


def _answer(query: dict, filters) -> bytes:
    if "near" in query:
        lat, lon = query["near"]
        found = services.nearby(lat, lon, query["radius"], filters, query["limit"])
        features = [ticket_feature(row, metres) for metres, row in found]
    else:
        view = services.tickets_in_view(
            services.BBox(*query["bbox"]), query["zoom"], filters, query["limit"]
        )
        if "tickets" in view:
            features = [ticket_feature(row) for row in view["tickets"]]
        else:
            features = [cluster_feature(cluster) for cluster in view["clusters"]]
    # orjson: several times faster than json for the hundreds of features of a view.
    # The same for every caller (no one's own tickets): shared caches may keep it.
    return orjson.dumps({"type": "FeatureCollection", "features": features})
