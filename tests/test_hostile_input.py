"""Hostile input found by fuzzing answers 4xx naming its field, never 500: numbers no
id column holds, nameless form parts, dates at the calendar's edges, text no database
stores (keys included)."""

import pytest

from portal.auth.services import create_token

HUGE = str(2**63)
HUGER = str(2**70)


@pytest.fixture
def bearer(make_user):
    _, secret = create_token(make_user(), "fuzz")
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/threads/{HUGE}",
        f"/api/v1/tickets/{HUGE}",
        f"/api/v1/events/{HUGE}",
        f"/api/v1/batches/{HUGER}",
        f"/tickets/{HUGE}",
        f"/events/{HUGE}",
        f"/forums/threads/{HUGE}",
        f"/meetings/{HUGER}",
        f"/api/v1/tickets/{2**31}",  # past PostgreSQL's INTEGER
    ],
)
def test_ids_past_the_database_range_name_nothing(client, bearer, path):
    response = client.get(path, headers=bearer)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "query, words",
    [
        (f"page={HUGE}", "page"),
        (f"page_size={HUGER}", "page"),
        ("page=-1", "page"),
        ("start_date=0001-01-01T00:00:00%2B01:00", "start_date"),
        ("end_date=9999-12-31T23:59:00-01:00", "end_date"),
        ("updated_after=9999-12-31T23:59:00-01:00", "updated_after"),
    ],
)
def test_georeport_listing_refuses_out_of_range_parameters(client, query, words):
    response = client.get(f"/open311/v2/requests.json?{query}")
    assert response.status_code == 400
    assert words in response.json[0]["description"]


def test_a_page_number_past_the_range_is_named(client, make_area):
    make_area()
    response = client.get(f"/api/v1/forums/test-area/threads?page={HUGE}")
    assert response.status_code == 422
    assert "page" in response.json["error"]["fields"]


@pytest.mark.parametrize(
    "body",
    [
        b'--b\r\nContent-Disposition: form-data; name="abc\r\n\r\nv\r\n--b--\r\n',
        b'--b\r\nContent-Disposition: form-data; name=""\r\n\r\nv\r\n--b--\r\n',
        b"--b\r\nContent-Disposition: form-data\r\n\r\nv\r\n--b--\r\n",
    ],
    ids=["unterminated", "empty", "missing"],
)
@pytest.mark.parametrize("path", ["/", "/auth/login", "/api/v1/me/tokens"])
def test_a_form_part_without_a_name_is_refused_anywhere(client, body, path):
    response = client.post(
        path, data=body, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 422
    if response.is_json:
        assert "body" in response.json["error"]["fields"]


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:00-01:00"]
)
def test_filters_at_the_calendars_edges_are_clamped(client, value):
    for path in (
        "/api/v1/events",
        "/api/v1/tickets?bbox=-75.2,39.9,-75.1,40.0&zoom=16",
    ):
        name = "from" if "events" in path else "since"
        joiner = "&" if "?" in path else "?"
        response = client.get(f"{path}{joiner}{name}={value.replace('+', '%2B')}")
        assert response.status_code == 200, (path, response.json)


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:00-01:00"]
)
def test_stored_dates_at_the_calendars_edges_are_refused(client, bearer, value):
    event = {
        "kind": "social",
        "title": "Block party",
        "starts_at": value,
        "ends_at": value,
        "lat": 39.95,
        "lon": -75.15,
    }
    response = client.post("/api/v1/events", json=event, headers=bearer)
    assert response.status_code == 422
    assert "starts_at" in response.json["error"]["fields"]
    meeting = {"area": "x", "title": "T", "starts_at": value, "place": "Hall"}
    response = client.post("/api/v1/meetings", json=meeting, headers=bearer)
    assert response.status_code == 422
    assert "starts_at" in response.json["error"]["fields"]


@pytest.mark.parametrize("value", ["0001-01-01", "9999-12-31"])
def test_the_events_page_names_a_date_at_the_edge(client, value):
    response = client.get(f"/events/?from={value}")
    assert response.status_code in (200, 422)
    assert "1900" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "json_body, field",
    [
        ({"service_code": "X", "description": "pothole \ud800 here"}, "description"),
        ({"service_code": "X", "address": "12 \udfff St"}, "address"),
        ({"service_code": "X", "description": "bell \x07 rings"}, "description"),
        ({"service_code": "X", "attributes": {"A\x00": "1"}}, "attributes"),
        ({"service_code": "X", "attributes": {"\ud800": "1"}}, "attributes"),
    ],
)
def test_text_no_database_stores_is_refused_keys_included(
    client, bearer, json_body, field
):
    response = client.post("/api/v1/tickets", json=json_body, headers=bearer)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_event_ticket_lists_and_batch_meetings_past_the_range(client, bearer):
    event = {
        "kind": "cleanup",
        "title": "Lot cleanup",
        "starts_at": "2030-05-01T10:00:00-04:00",
        "ends_at": "2030-05-01T12:00:00-04:00",
        "lat": 39.95,
        "lon": -75.15,
        "tickets": [2**63],
    }
    response = client.post("/api/v1/events", json=event, headers=bearer)
    assert response.status_code == 422
    assert "tickets.0" in response.json["error"]["fields"]
    response = client.post(
        f"/api/v1/batches?meeting={HUGE}", json={"rows": []}, headers=bearer
    )
    assert response.status_code == 422
    assert "meeting" in response.json["error"]["fields"]


def test_control_characters_in_a_query_are_refused(client):
    response = client.get("/api/v1/events?area=a%07b")
    assert response.status_code == 422
    assert "area" in response.json["error"]["fields"]


def test_every_integer_the_api_takes_is_bounded(app):
    import marshmallow as ma
    from marshmallow import class_registry

    from portal.apiv1 import Whole

    loose = []
    for name, classes in class_registry._registry.items():
        if "." in name:  # each class is listed by its name and by its full path
            continue
        for schema in classes:
            if not schema.__module__.startswith("portal."):
                continue  # flask-smorest's own, output only
            for field_name, field in schema._declared_fields.items():
                inner = getattr(field, "inner", None)
                for candidate in (field, inner):
                    if isinstance(candidate, ma.fields.Integer) and not isinstance(
                        candidate, Whole
                    ):
                        loose.append(f"{name}.{field_name}")
    assert loose == []
