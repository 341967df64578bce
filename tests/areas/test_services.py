"""Areas: importing real Philadelphia neighborhoods, point lookup, demo areas."""

import json
import os

import pytest
import shapely
from shapely.geometry import shape

from portal.areas import services
from portal.demo.geography import NEIGHBORHOODS, demo_areas
from portal.errors import ValidationFailed


@pytest.fixture
def philadelphia(app, shared_data):
    with open(
        os.path.join(shared_data, "philadelphia_neighborhoods.geojson")
    ) as handle:
        collection = json.load(handle)
    services.import_features(collection, "LISTNAME")
    return collection


def test_import_philadelphia_gives_159_areas(philadelphia):
    assert len(services.list_areas()) == 159
    old_city = services.get_area("old-city")
    assert old_city.name == "Old City"
    assert old_city.min_lon < -75.1452 < old_city.max_lon


@pytest.mark.parametrize(
    "lat, lon, name",
    [
        (39.95451, -75.15204, "Old City"),  # 700-734 Race St
        (39.930774, -75.162352, "Passyunk Square"),  # 1500 E Passyunk Ave
    ],
)
def test_locate_known_addresses(philadelphia, lat, lon, name):
    assert services.locate(lat, lon).name == name


def test_locate_outside_every_area_is_none(philadelphia):
    assert services.locate(40.7128, -74.0060) is None  # New York
    assert services.locate(0, 0) is None


def test_every_neighborhood_label_locates_back_to_it(philadelphia):
    for area in services.list_areas():
        assert services.locate(area.label_lat, area.label_lon) == area


@pytest.mark.parametrize(
    "lat, lon, field",
    [
        ("abc", -75.1, "lat"),
        (39.9, "nan", "lon"),
        (91, -75.1, "lat"),
        (39.9, float("inf"), "lon"),
    ],
)
def test_locate_names_the_bad_coordinate(app, lat, lon, field):
    with pytest.raises(ValidationFailed) as caught:
        services.locate(lat, lon)
    assert caught.value.field == field


def test_reimport_updates_instead_of_duplicating(philadelphia):
    services.import_features(philadelphia, "LISTNAME")
    assert len(services.list_areas()) == 159


def test_import_is_all_or_nothing(app):
    good = {
        "type": "Feature",
        "properties": {"N": "Good"},
        "geometry": shapely.geometry.mapping(shapely.box(0, 0, 1, 1)),
    }
    nameless = {"type": "Feature", "properties": {}, "geometry": good["geometry"]}
    with pytest.raises(ValidationFailed) as caught:
        services.import_features(
            {"type": "FeatureCollection", "features": [good, nameless]}, "N"
        )
    assert "Feature 2" in caught.value.message
    assert services.list_areas() == []
    with pytest.raises(ValidationFailed):
        services.import_features({"type": "Feature"}, "N")


def test_demo_areas_tile_the_outline_without_overlap():
    areas = demo_areas()
    assert len(areas) == len(NEIGHBORHOODS) >= 25
    union = shapely.union_all([polygon for _name, polygon in areas])
    total = sum(polygon.area for _name, polygon in areas)
    assert union.area == pytest.approx(total, rel=1e-9)  # no overlaps
    for (name, polygon), (_n, lat, lon) in zip(areas, NEIGHBORHOODS, strict=True):
        assert polygon.covers(shapely.Point(lon, lat)), name


def test_demo_areas_are_generated_not_copied(shared_data):
    with open(
        os.path.join(shared_data, "philadelphia_neighborhoods.geojson")
    ) as handle:
        real = {
            f["properties"]["LISTNAME"]: shape(f["geometry"])
            for f in json.load(handle)["features"]
        }
    for name, polygon in demo_areas():
        if name in real:
            assert not polygon.equals(real[name])
