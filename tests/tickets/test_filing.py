"""Filing: services and their questions, location check, duplicates, photos; stored
queued, then sent to the (real, loopback) sandbox city."""

import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from portal.cityapi import get_city_api
from portal.extensions import db
from portal.tickets.city_services import refresh_services
from portal.tickets.models import Ticket, TicketPhoto
from portal.tickets.photos import photo_dir
from tests.conftest import csrf_token
from tests.tickets.conftest import city_requests, drain

FRANKFORD_1200 = (39.9688, -75.1330)  # where the gazetteer puts 1200 Frankford Ave
ANSWERS = {"GAS": "no", "WATER": "no"}  # Street Defect's required questions


@pytest.fixture
def city_services(app):
    refresh_services(get_city_api())


@pytest.fixture
def resident(app, make_area, make_user, auth, city_services):
    make_area("Fishtown")
    user = make_user(email="filer@example.org")
    auth.login("filer@example.org")
    return user


def file_json(client, **body):
    body.setdefault("service_code", "SBX-SD")
    body.setdefault("attributes", ANSWERS)
    token = csrf_token(client, "/tickets/new?service=SBX-SD")
    return client.post(
        "/api/v1/tickets",
        data=json.dumps(body),
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
    )


def jpeg(size=(64, 48), exif=True) -> bytes:
    image = Image.new("RGB", size, (200, 40, 40))
    out = io.BytesIO()
    data = Image.Exif()
    if exif:
        data[0x010F] = "SecretCameraMaker"  # Make
        data.get_ifd(0x8825).update({1: "N", 2: (39.0, 58.0, 12.0)})  # GPS
    image.save(out, "JPEG", exif=data.tobytes())
    return out.getvalue()


def post_form(client, fields: dict, token: str | None = None):
    """A multipart POST built in memory (the test client's own builder spools big
    bodies to a temporary file that it never closes)."""
    boundary, body = encode_multipart(fields)
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(
        "/api/v1/tickets",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=headers,
    )


def file_with_photo(client, content: bytes, name: str):
    fields = {
        "service_code": "SBX-SD",
        "attribute[GAS]": "no",
        "attribute[WATER]": "no",
        "lat": "39.97",
        "lon": "-75.13",
        "photo": FileStorage(io.BytesIO(content), name),
    }
    return post_form(client, fields, csrf_token(client, "/tickets/new?service=SBX-SD"))


def tickets_stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def test_filing_stores_queued_and_the_sender_delivers(client, resident, sandbox_server):
    answer = file_json(
        client, description="Deep hole", lat=39.9700, lon=-75.1300, attributes=ANSWERS
    )
    assert answer.status_code == 202, answer.data
    body = answer.get_json()
    assert body["send_state"] == "queued" and body["city_id"] is None
    drain(get_city_api())
    ticket = db.session.get(Ticket, body["id"])
    assert ticket.send_state == "sent" and ticket.city_id
    assert ticket.area.name == "Fishtown"
    assert ticket.address  # filled in from the pin by the gazetteer
    [stored] = [
        r for r in city_requests(sandbox_server) if r.public_id == ticket.city_id
    ]
    assert stored.attributes == ANSWERS


def test_required_questions_and_their_types_are_enforced(client, resident):
    answer = file_json(client, lat=39.97, lon=-75.13, attributes={"GAS": "maybe"})
    assert answer.status_code == 422
    fields = answer.get_json()["error"]["fields"]
    assert set(fields) == {"attribute[GAS]", "attribute[WATER]"}
    size = file_json(
        client, lat=39.97, lon=-75.13, attributes={**ANSWERS, "SIZE": "wide"}
    )
    assert "attribute[SIZE]" in size.get_json()["error"]["fields"]
    assert tickets_stored() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"service_code": "NOPE"}, "service_code"),
        ({"description": "x" * 4001}, "description"),
        ({"description": "x" * 1_000_000}, "description"),
        ({}, "location"),
        ({"lat": 91, "lon": -75.13}, "location"),
        ({"lat": 39.97, "lon": -75.13, "address": "y" * 301}, "address"),
        ({"lat": 40.5, "lon": -76.5}, "location"),  # outside every area
        ({"address": "99999 Nowhere Blvd"}, "address"),
        ({"lat": "NaN", "lon": -75.13}, "lat"),
    ],
)
def test_bad_filings_name_the_field_and_store_nothing(client, resident, body, field):
    answer = file_json(client, **body)
    assert answer.status_code == 422, answer.data
    assert field in answer.get_json()["error"]["fields"]
    assert tickets_stored() == 0


def test_an_address_far_from_the_pin_is_asked_about(client, resident):
    far_pin = {"lat": 39.9800, "lon": -75.1500, "address": "1200 Frankford Ave"}
    answer = file_json(client, **far_pin)
    assert answer.status_code == 409
    error = answer.get_json()["error"]
    assert error["code"] == "location_check"
    assert error["fields"]["address_point"] == "{:.6f},{:.6f}".format(*FRANKFORD_1200)
    assert tickets_stored() == 0

    chosen = file_json(client, **far_pin, location_choice="address")
    assert chosen.status_code == 202
    ticket = chosen.get_json()
    assert (ticket["lat"], ticket["lon"]) == pytest.approx(FRANKFORD_1200)
    assert ticket["address"] == "1200 Frankford Ave"


def test_an_address_near_the_pin_files_at_the_pin(client, resident):
    lat, lon = FRANKFORD_1200[0] + 0.0005, FRANKFORD_1200[1]  # about 55 m away
    answer = file_json(client, lat=lat, lon=lon, address="1200 Frankford Ave")
    assert answer.status_code == 202
    assert answer.get_json()["lat"] == pytest.approx(lat)


def test_open_tickets_of_the_service_nearby_are_shown_first(
    client, resident, make_user, auth
):
    first = file_json(client, lat=39.9700, lon=-75.1300).get_json()
    again = file_json(client, lat=39.9702, lon=-75.1301)  # about 23 m away
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "possible_duplicates"
    assert error["fields"]["duplicates"] == str(first["id"])
    other_service = file_json(
        client,
        service_code="SBX-GR",
        attributes={"RAIL": "no"},
        lat=39.9702,
        lon=-75.1301,
    )
    assert other_service.status_code == 202
    different = file_json(client, lat=39.9702, lon=-75.1301, not_duplicate=True)
    assert different.status_code == 202


def test_me_too_counts_once_per_resident(client, resident, make_user, auth):
    ticket = file_json(client, lat=39.97, lon=-75.13).get_json()
    own = client.post(
        f"/api/v1/tickets/{ticket['id']}/me-too",
        headers={"X-CSRFToken": csrf_token(client, "/auth/profile")},
    )
    assert own.status_code == 409
    auth.logout()
    make_user(email="neighbor@example.org")
    auth.login("neighbor@example.org")
    url = f"/api/v1/tickets/{ticket['id']}/me-too"
    headers = {"X-CSRFToken": csrf_token(client, "/auth/profile")}
    assert client.post(url, headers=headers).get_json()["supporters"] == 1
    assert client.post(url, headers=headers).status_code == 409
    assert db.session.get(Ticket, ticket["id"]).supporters == 1


def test_photos_are_re_encoded_without_exif_and_thumbnailed(client, resident):
    answer = file_with_photo(client, jpeg((3000, 1000)), "x.jpg")
    assert answer.status_code == 202, answer.data
    [url] = answer.get_json()["photos"]
    [photo] = db.session.scalars(select(TicketPhoto))
    assert url.endswith(f"/tickets/photos/{photo.key}.jpg")
    assert db.session.get(Ticket, answer.get_json()["id"]).media_url == url
    stored = (photo_dir() / f"{photo.key}.jpg").read_bytes()
    assert b"SecretCameraMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and not image.getexif()
        assert max(image.size) == 2048
    with Image.open(photo_dir() / f"{photo.key}.thumb.jpg") as thumb:
        assert max(thumb.size) == 360
    served = client.get(f"/tickets/photos/{photo.key}.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.data == stored
    served.close()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("content", "name", "status"),
    [
        (SVG, "photo.jpg", 422),
        (b"<html><script>alert(1)</script></html>", "photo.png", 422),
        (jpeg()[:300], "photo.jpg", 422),
        (b"\xff\xd8\xff" + b"0" * (10 * 1024 * 1024 + 10), "big.jpg", 413),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_kept(
    client, resident, content, name, status
):
    answer = file_with_photo(client, content, name)
    assert answer.status_code == status, answer.data
    assert "photo" in answer.get_json()["error"]["fields"]
    assert tickets_stored() == 0
    assert list(photo_dir().iterdir()) == []


def test_a_fifty_megabyte_upload_is_413(client, resident):
    answer = post_form(
        client, {"photo": FileStorage(io.BytesIO(b"0" * (50 * 1024 * 1024)), "h.jpg")}
    )
    assert answer.status_code == 413
    assert tickets_stored() == 0


def test_services_are_grouped_and_suggested_from_text(client, city_services):
    everything = client.get("/api/v1/services").get_json()["services"]
    assert len(everything) == 31
    suggested = client.get("/api/v1/services?suggest=big pothole in the road")
    assert suggested.get_json()["services"][0]["name"] == "Street Defect"
    lights = client.get("/api/v1/services?suggest=the street light is out")
    assert lights.get_json()["services"][0]["name"] == "Street Light Outage"
