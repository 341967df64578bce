"""GET /api/v1/tickets: GeoJSON around a point or in a viewport, cached, validated."""

import pytest

from tests.map.conftest import FISHTOWN, offset

NEAR = f"{FISHTOWN[0]},{FISHTOWN[1]}"


def test_near_answers_features_nearest_first(client, make_ticket, services):
    second = make_ticket(*offset(*FISHTOWN, north_m=200), description="x" * 500)
    first = make_ticket(*offset(*FISHTOWN, east_m=50), address="1200 Frankford Ave")
    answer = client.get(f"/api/v1/tickets?near={NEAR}&radius=500")
    assert answer.status_code == 200
    assert answer.mimetype == "application/geo+json"
    body = answer.get_json()
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [first.id, second.id]
    feature = body["features"][0]
    assert feature["geometry"]["coordinates"] == [first.lon, first.lat]
    assert feature["properties"]["address"] == "1200 Frankford Ave"
    assert feature["properties"]["distance"] == pytest.approx(50, abs=1)
    assert feature["properties"]["url"] == f"/tickets/{first.id}"
    assert len(body["features"][1]["properties"]["description"]) == 140


def test_viewport_clusters_carry_count_and_cluster_flag(client, make_ticket):
    for step in range(4):
        make_ticket(*offset(*FISHTOWN, north_m=step * 10))
    body = client.get("/api/v1/tickets?bbox=-75.3,39.8,-74.9,40.2&zoom=10").get_json()
    [cluster] = body["features"]
    assert cluster["properties"]["cluster"] is True
    assert cluster["properties"]["count"] == 4


def test_filters_reach_the_query(client, make_ticket, services, make_area):
    make_area("Fishtown", bounds=(-75.14, 39.96, -75.12, 39.98))
    make_ticket(service_code="SBX-GR", status="closed")
    make_ticket()
    base = f"/api/v1/tickets?near={NEAR}"
    assert len(client.get(base).get_json()["features"]) == 1
    assert len(client.get(base + "&status=any").get_json()["features"]) == 2
    closed = client.get(base + "&status=closed&service_code=SBX-GR").get_json()
    assert [f["properties"]["status"] for f in closed["features"]] == ["closed"]
    since = client.get(base + "&since=2026-11-02T00:00:00Z").get_json()
    assert since["features"] == []


def test_an_unchanged_answer_is_a_304(client, make_ticket):
    make_ticket()
    url = f"/api/v1/tickets?near={NEAR}"
    first = client.get(url)
    etag = first.headers["ETag"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    make_ticket(*offset(*FISHTOWN, north_m=30))
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 200 and again.headers["ETag"] != etag


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=-75,nan,-74,40", "bbox"),
        ("bbox=-75,39,-74,inf", "bbox"),
        ("bbox=-75,39,-76,40", "bbox"),
        ("bbox=-75,41,-74,40", "bbox"),
        ("bbox=-75,-91,-74,40", "bbox"),
        ("bbox=-181,39,-74,40", "bbox"),
        ("near=39.9", "near"),
        ("near=91,-75", "near"),
        ("near=39,-181", "near"),
        ("near=nan,-75", "near"),
        (f"near={NEAR}&radius=5001", "radius"),
        (f"near={NEAR}&radius=-1", "radius"),
        (f"near={NEAR}&limit=1001", "limit"),
        (f"near={NEAR}&limit=0", "limit"),
        (f"near={NEAR}&zoom=99", "zoom"),
        (f"near={NEAR}&since=yesterday", "since"),
        (f"near={NEAR}&service_code=NOPE", "service_code"),
        (f"near={NEAR}&area=atlantis", "area"),
        ("", "bbox"),
        (f"bbox=-75,39,-74,40&near={NEAR}", "bbox"),
    ],
)
def test_bad_parameters_name_the_field(client, services, query, field):
    answer = client.get(f"/api/v1/tickets?{query}")
    assert answer.status_code == 422, answer.data
    error = answer.get_json()["error"]
    assert field in error["fields"], error
