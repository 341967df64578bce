"""The areas API and pages: GeoJSON list, locate, bad coordinates, area page."""

import pytest


@pytest.fixture
def areas(make_area):
    return [
        make_area("Old City", (-75.150, 39.948, -75.140, 39.958)),
        make_area("Fishtown", (-75.140, 39.960, -75.120, 39.980)),
    ]


def test_list_is_geojson(client, areas):
    body = client.get("/api/v1/areas").json
    assert body["type"] == "FeatureCollection"
    assert [f["properties"]["slug"] for f in body["features"]] == [
        "fishtown",
        "old-city",
    ]
    assert body["features"][0]["geometry"]["type"] == "MultiPolygon"
    light = client.get("/api/v1/areas?geometry=false").json
    assert light["features"][0]["geometry"] is None


def test_locate_finds_the_area(client, areas):
    body = client.get("/api/v1/areas/locate?lat=39.953&lon=-75.145").json
    assert body["area"]["properties"]["name"] == "Old City"


def test_locate_outside_is_null_not_an_error(client, areas):
    response = client.get("/api/v1/areas/locate?lat=40.5&lon=-74.0")
    assert response.status_code == 200
    assert response.json == {"area": None}


@pytest.mark.parametrize(
    "query, field",
    [
        ("lat=abc&lon=-75.1", "lat"),
        ("lat=95&lon=-75.1", "lat"),
        ("lat=39.9&lon=nan", "lon"),
        ("lat=39.9", "lon"),
        ("", "lat"),
    ],
)
def test_locate_bad_input_names_the_field(client, areas, query, field):
    response = client.get(f"/api/v1/areas/locate?{query}")
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "validation_failed"
    assert field in error["fields"]


def test_area_page_and_unknown_area(client, areas):
    page = client.get("/areas/old-city")
    assert page.status_code == 200 and "<h1>Old City</h1>" in page.get_data(
        as_text=True
    )
    missing = client.get("/areas/atlantis")
    assert missing.status_code == 404
    assert "There is no area called atlantis" in missing.get_data(as_text=True)


def test_home_picker_goes_to_the_area(client, areas):
    home = client.get("/").get_data(as_text=True)
    assert '<option value="old-city">Old City</option>' in home
    response = client.get("/go?area=fishtown")
    assert (
        response.status_code == 302
        and response.headers["Location"] == "/areas/fishtown"
    )
    assert client.get("/go?area=nowhere").status_code == 404
