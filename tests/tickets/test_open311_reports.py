"""Filing through /open311/v2 with a personal token or an app key: the site's rules,
spec errors, tokens, definitions, and the outbox sending each report once."""

import json
import xml.etree.ElementTree as ET

import httpx
import pytest
from sqlalchemy import func, select
from werkzeug.test import encode_multipart

from portal.auth.services import create_token, list_tokens, revoke_token
from portal.cityapi import get_city_api
from portal.cityapi.client import Open311Client
from portal.cityapi.errors import CityRejected
from portal.cityapi.types import NewServiceRequest
from portal.extensions import db
from portal.tickets.app_keys import AppKey, create_key, revoke_key
from portal.tickets.models import Ticket
from tests.tickets.conftest import city_requests, drain

V2 = "/open311/v2"
SPOT = {"lat": "39.9700", "long": "-75.1300"}
ANSWERS = {"attribute[GAS]": "no", "attribute[WATER]": "no"}  # Street Defect's
CONTACT = {
    "email": "private.person@example.org",
    "first_name": "Privata",
    "last_name": "Personne",
    "phone": "215-555-0199",
    "device_id": "device-778",
    "account_id": "acct-991",
}


@pytest.fixture
def app_overrides(app_overrides):
    # Tests file many times with one key; the rate-limit test sets its own limit.
    return {**app_overrides, "FILING_LIMIT": "1000 per hour"}


@pytest.fixture
def city(runner, make_area):
    make_area("Fishtown")
    # The services and their questions, fetched from the sandbox as an admin would.
    fetched = runner.invoke(args=["city", "services"])
    assert fetched.exit_code == 0, fetched.output


@pytest.fixture
def app_key(city):
    return create_key("FixBot")[1]


@pytest.fixture
def resident(city, make_user):
    user = make_user(email="filer@example.org")
    return user, create_token(user, "phone app")[1]


def post(client, key, fmt="json", **fields):
    """POST requests.<fmt> form-encoded; a field given as None is left out."""
    form = {"api_key": key, "service_code": "SBX-SD", **SPOT, **ANSWERS, **fields}
    form = {name: value for name, value in form.items() if value is not None}
    return client.post(f"{V2}/requests.{fmt}", data=form)


def spec_errors(response) -> list[dict]:
    """The spec's error array, from JSON or XML."""
    if response.mimetype == "text/xml":
        root = ET.fromstring(response.data)
        assert root.tag == "errors"
        return [
            {"code": int(e.findtext("code")), "description": e.findtext("description")}
            for e in root.findall("error")
        ]
    body = response.get_json()
    assert isinstance(body, list) and body, response.data
    assert all(set(item) == {"code", "description"} for item in body)
    return body


def tickets_stored() -> int:
    return db.session.scalar(select(func.count()).select_from(Ticket))


def test_an_app_key_files_into_the_outbox_and_its_token_resolves_once_sent(
    client, app_key, sandbox_server
):
    answer = post(client, app_key, description="Deep hole by the curb", **CONTACT)
    assert answer.status_code == 200, answer.data
    [receipt] = answer.get_json()
    ticket = db.session.scalar(select(Ticket))
    assert receipt == {"token": ticket.ref}
    assert (ticket.channel, ticket.on_behalf_of, ticket.filed_by) == (
        "open311",
        "FixBot",
        None,
    )
    assert ticket.send_state == "queued" and ticket.area.name == "Fishtown"
    pending = client.get(f"{V2}/tokens/{ticket.ref}.json")
    assert pending.get_json() == [{"service_request_id": None, "token": ticket.ref}]
    # Nothing public knows it yet by a city id.
    assert client.get(f"{V2}/requests.json").get_json() == []

    drain(get_city_api())
    drain(get_city_api())  # a second pass sends nothing again
    db.session.refresh(ticket)
    [stored] = city_requests(sandbox_server)
    assert ticket.send_state == "sent" and stored.public_id == ticket.city_id
    assert f"[ref {ticket.ref}]" in stored.description
    assert stored.attributes == {"GAS": "no", "WATER": "no"}
    assert not stored.contact  # the outbox sends no one's contact details
    sent = client.get(f"{V2}/tokens/{ticket.ref}.json").get_json()
    assert sent == [{"service_request_id": ticket.city_id, "token": ticket.ref}]
    [listed] = client.get(f"{V2}/requests/{ticket.city_id}.json").get_json()
    assert listed["description"] == "Deep hole by the curb"

    # On the map and at its page like any other ticket; contact details nowhere.
    near = client.get("/api/v1/tickets?near=39.97,-75.13&radius=200").get_json()
    assert [f["id"] for f in near["features"]] == [ticket.id]
    page = client.get(f"/tickets/{ticket.id}")
    assert page.status_code == 200 and "Deep hole by the curb" in page.text
    public = (
        page.text
        + client.get(f"{V2}/requests.json").text
        + client.get(f"{V2}/requests.xml").text
        + client.get(f"/api/v1/tickets/{ticket.id}").text
        + json.dumps(near)
    )
    for value in CONTACT.values():
        assert value not in public


def test_a_personal_token_files_as_its_owner_in_xml(client, resident):
    user, secret = resident
    answer = post(client, secret, fmt="xml", description="Hole\r\nsecond line")
    assert answer.status_code == 200, answer.data
    assert answer.mimetype == "text/xml"
    root = ET.fromstring(answer.data)
    assert root.tag == "service_requests"
    token = root.find("request").findtext("token")
    ticket = db.session.scalar(select(Ticket))
    assert token == ticket.ref
    assert (ticket.filed_by_id, ticket.channel) == (user.id, "open311")
    assert ticket.on_behalf_of is None
    assert ticket.description == "Hole\r\nsecond line"  # the spec allows line breaks
    looked_up = ET.fromstring(client.get(f"{V2}/tokens/{token}.xml").data)
    assert looked_up.find("request").findtext("token") == token
    # The spec's XML null: the element is there, and empty.
    assert looked_up.find("request").find("service_request_id").text is None


def test_an_unknown_token_is_404(client, city):
    for path in ("tokens/NP-AAAAAAAAAA.json", f"tokens/{'x' * 5000}.json"):
        response = client.get(f"{V2}/{path}")
        assert response.status_code == 404
        assert spec_errors(response)[0]["code"] == 404


@pytest.mark.parametrize(
    "key",
    [None, "", "   ", "wrong", "np_wrong", "npa_wrong", "npa_" + "x" * 100_000],
    ids=["missing", "empty", "blank", "wrong", "np-wrong", "npa-wrong", "huge"],
)
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_or_bad_key_is_403_in_the_spec_shape(client, city, key, fmt):
    response = post(client, key, fmt=fmt)
    assert response.status_code == 403
    [error] = spec_errors(response)
    assert error["code"] == 403 and "api_key" in error["description"]
    assert tickets_stored() == 0


def test_revoked_keys_and_tokens_are_403(client, resident, app_key):
    user, secret = resident
    assert post(client, app_key).status_code == 200
    revoke_key(db.session.scalar(select(AppKey)).id)
    assert post(client, app_key, not_duplicate="true").status_code == 403
    revoke_token(user, list_tokens(user)[0].id)
    assert post(client, secret, not_duplicate="true").status_code == 403
    # A key sent twice is no key, even when one copy is right.
    both = client.post(
        f"{V2}/requests.json",
        data={"api_key": [app_key, "other"], "service_code": "SBX-SD", **SPOT},
    )
    assert both.status_code == 403
    assert tickets_stored() == 1


def test_the_key_is_checked_before_any_field(client, city):
    response = post(client, "wrong", service_code="NOPE", lat="NaN")
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("fields", "status", "named"),
    [
        ({"service_code": ""}, 400, "service_code"),
        ({"service_code": "NOPE"}, 404, "NOPE"),
        ({"service_code": "☃" * 3000}, 404, "service_code"),
        ({"description": "x" * 4001}, 400, "description"),
        ({"description": "x" * 1_000_000}, 400, "description"),
        ({"long": None}, 400, "location"),  # lat without long
        ({"lat": None}, 400, "location"),
        ({"lat": "NaN"}, 400, "location"),
        ({"lat": "inf"}, 400, "location"),
        ({"lat": "1e999"}, 400, "location"),
        ({"lat": "north"}, 400, "location"),
        ({"lat": "0x1p3"}, 400, "location"),
        ({"lat": "91"}, 400, "location"),
        ({"lat": "40.5", "long": "-76.5"}, 400, "location"),  # outside every area
        ({"lat": None, "long": None}, 400, "location"),
        ({"lat": None, "long": None, "address_id": "545483"}, 400, "address_id"),
        ({"address_string": "y" * 301}, 400, "address_string"),
        (
            {"lat": None, "long": None, "address_string": "99999 Nowhere"},
            400,
            "address_string",
        ),  # fmt: skip
        ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
        ({"media_url": "http://["}, 400, "media_url"),
        ({"media_url": "https://x.example/" + "p" * 500}, 400, "media_url"),
        ({"attribute[GAS]": "maybe"}, 400, "attribute[GAS]"),
        ({"attribute[SIZE]": "wide"}, 400, "attribute[SIZE]"),
    ],
)
def test_bad_fields_are_named_and_nothing_is_stored(
    client, app_key, fields, status, named
):
    response = post(client, app_key, **fields)
    assert response.status_code == status, response.data
    errors = spec_errors(response)
    assert any(named in error["description"] for error in errors), errors
    assert tickets_stored() == 0


def test_required_attributes_are_enforced_like_the_site(client, app_key):
    response = post(client, app_key, **{"attribute[GAS]": None, "attribute[WATER]": ""})
    assert response.status_code == 400
    described = " ".join(e["description"] for e in spec_errors(response))
    assert "attribute[GAS]" in described and "attribute[WATER]" in described
    optional_left_out = post(client, app_key, **{"attribute[STATEHWY]": None})
    assert optional_left_out.status_code == 200


def test_a_multivaluelist_takes_several_answers(client, app_key, sandbox_server):
    dumping = {"service_code": "SBX-DUMP", "attribute[GAS]": None}
    dumping["attribute[WATER]"] = None
    several = {"attribute[WHAT][]": ["tires", "furniture"], **dumping}
    assert post(client, app_key, **several).status_code == 200
    ticket = db.session.scalar(select(Ticket))
    assert ticket.attributes == {"WHAT": ["tires", "furniture"]}
    drain(get_city_api())
    [stored] = city_requests(sandbox_server)
    assert stored.attributes == {"WHAT": ["tires", "furniture"]}

    unknown = post(
        client, app_key, not_duplicate="1", **{**dumping, "attribute[WHAT][]": "cats"}
    )
    assert unknown.status_code == 400
    assert "attribute[WHAT]" in spec_errors(unknown)[0]["description"]
    single_twice = post(client, app_key, **{"attribute[GAS][]": ["yes", "no"]})
    assert single_twice.status_code == 400
    assert "attribute[GAS]" in spec_errors(single_twice)[0]["description"]


def test_filing_is_rate_limited_per_key(client, app, app_key):
    app.config["FILING_LIMIT"] = "2 per hour"
    for _ in range(2):  # invalid reports count too, as on the site
        assert post(client, app_key, lat="NaN").status_code == 400
    limited = post(client, app_key)
    assert limited.status_code == 429
    assert spec_errors(limited)[0]["code"] == 429
    assert "Retry-After" in limited.headers
    other = create_key("OtherBot")[1]
    assert post(client, other).status_code == 200  # another key, its own quota
    assert post(client, "wrong").status_code == 403  # no key spends no quota
    assert tickets_stored() == 1


def test_open_tickets_nearby_are_named_unless_the_client_says_it_differs(
    client, app_key
):
    first = post(client, app_key).get_json()[0]["token"]
    again = post(client, app_key, lat="39.9702", long="-75.1301")  # about 23 m away
    assert again.status_code == 400
    [error] = spec_errors(again)
    assert error["code"] == 409 and first in error["description"]
    assert "not_duplicate" in error["description"]
    different = post(
        client, app_key, lat="39.9702", long="-75.1301", not_duplicate="true"
    )
    assert different.status_code == 200
    assert tickets_stored() == 2


def test_an_address_far_from_the_pin_is_asked_about(client, app_key):
    far = {"lat": "39.9800", "long": "-75.1500", "address_string": "1200 Frankford Ave"}
    asked = post(client, app_key, **far)
    assert asked.status_code == 400
    [error] = spec_errors(asked)
    assert error["code"] == 409 and "location_choice" in error["description"]
    chosen = post(client, app_key, location_choice="address", **far)
    assert chosen.status_code == 200
    ticket = db.session.scalar(select(Ticket))
    assert (ticket.lat, ticket.lon) == pytest.approx((39.9688, -75.1330))


def test_services_say_which_have_questions_and_serve_their_definitions(client, city):
    listed = {s["service_code"]: s for s in client.get(f"{V2}/services.json").json}
    assert listed["SBX-SD"]["metadata"] is True
    assert listed["SBX-ALO"]["metadata"] is False
    assert listed["SBX-SD"]["type"] == "batch"  # filing answers a token

    definition = client.get(f"{V2}/services/SBX-SD.json").get_json()
    assert definition["service_code"] == "SBX-SD"
    questions = definition["attributes"]
    assert [q["code"] for q in questions] == ["GAS", "WATER", "STATEHWY", "SIZE"]
    assert [q["order"] for q in questions] == [1, 2, 3, 4]
    gas = questions[0]
    assert gas["datatype"] == "singlevaluelist" and gas["required"] is True
    assert gas["variable"] is True and gas["description"] == "Is gas escaping?"
    assert {"key": "no", "name": "No"} in gas["values"]
    assert set(gas) == {
        "variable", "code", "datatype", "required", "datatype_description",
        "order", "description", "values",
    }  # fmt: skip

    xml = ET.fromstring(client.get(f"{V2}/services/SBX-DUMP.xml").data)
    assert xml.tag == "service_definition"
    [what] = [
        a for a in xml.find("attributes").findall("attribute")
        if a.findtext("code") == "WHAT"
    ]  # fmt: skip
    assert what.findtext("datatype") == "multivaluelist"
    keys = [v.findtext("key") for v in what.find("values").findall("value")]
    assert "tires" in keys
    assert client.get(f"{V2}/services/SBX-ALO.json").get_json()["attributes"] == []

    for code in ("NOPE", "x" * 5000):
        missing = client.get(f"{V2}/services/{code}.xml")
        assert missing.status_code == 404
        assert spec_errors(missing)[0]["code"] == 404


def test_discovery_says_how_to_get_a_key(client):
    discovery = client.get(f"{V2}/discovery.json").get_json()
    assert "api_key" in discovery["key_service"]


def in_own_context(app):
    """The app as WSGI, each request in a fresh app context as a server gives it."""

    def wsgi(environ, start_response):
        with app.app_context():
            return app.wsgi_app(environ, start_response)

    return wsgi


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_independent_client_files_and_reads_back(app, app_key, sandbox_server, fmt):
    transport = httpx.WSGITransport(app=in_own_context(app))
    outside = Open311Client(
        "http://portal.test/open311/v2", api_key=app_key, fmt=fmt, transport=transport
    )
    try:
        services = {s.code: s for s in outside.list_services()}
        assert services["SBX-DUMP"].metadata and services["SBX-DUMP"].type == "batch"
        [what] = [
            a
            for a in outside.get_service_definition("SBX-DUMP").attributes
            if a.code == "WHAT"
        ]
        assert what.datatype == "multivaluelist" and what.required
        receipt = outside.submit_request(
            NewServiceRequest(
                service_code="SBX-DUMP",
                lat=39.97,
                long=-75.13,
                description="Tires in the lot",
                email="someone@example.org",
                attributes={"WHAT": ["tires", "bags"]},
            )
        )
        assert receipt.token and receipt.service_request_id is None
        assert outside.request_id_from_token(receipt.token) is None

        drain(get_city_api())
        city_id = outside.request_id_from_token(receipt.token)
        assert city_id
        read_back = outside.get_request(city_id)
        assert (read_back.service_code, read_back.status) == ("SBX-DUMP", "open")
        assert read_back.description == "Tires in the lot"
        assert (read_back.lat, read_back.long) == pytest.approx((39.97, -75.13))
        [stored] = city_requests(sandbox_server)
        assert stored.public_id == city_id
        assert stored.attributes == {"WHAT": ["tires", "bags"]}

        refused = Open311Client(
            "http://portal.test/open311/v2", api_key="npa_nope", fmt=fmt,
            transport=transport,
        )  # fmt: skip
        with pytest.raises(CityRejected) as rejected:
            refused.submit_request(NewServiceRequest(service_code="SBX-DUMP"))
        assert rejected.value.status == 403
        with pytest.raises(CityRejected) as unknown:
            outside.submit_request(NewServiceRequest("NOPE", lat=39.97, long=-75.13))
        assert unknown.value.status == 404
    finally:
        outside.close()


def raw(client, body: bytes, content_type: str | None, path="requests.json"):
    headers = {"Content-Type": content_type} if content_type else {}
    return client.post(f"{V2}/{path}", data=body, headers=headers)


def test_hostile_bodies_are_answered_in_the_spec_shape_never_500(client, app, app_key):
    form = "application/x-www-form-urlencoded"
    good = f"api_key={app_key}&service_code=SBX-SD&lat=39.97&long=-75.13"
    boundary, nameless = (
        b"b",
        (b'--b\r\nContent-Disposition: form-data; name=""\r\n\r\nv\r\n--b--\r\n'),
    )
    cases = [
        (json.dumps({"api_key": app_key, "service_code": "SBX-SD"}).encode(),
         "application/json", 400, "form-encoded"),
        (good.encode(), "text/plain", 400, "form-encoded"),
        (good.encode(), None, 400, "form-encoded"),
        (b"\xff\xfe\x00garbage", form, 403, "api_key"),
        (f"{good}&service_code=SBX-GR".encode(), form, 400, "service_code"),
        (f"{good}&lat=40".encode(), form, 400, "lat"),
        (f"{good}&description=a%00b".encode(), form, 400, "description"),
        (f"{good}&attribute[{'A' * 10_000}]=1".encode(), form, 400, "attribute[GAS]"),
        (f"{good}&attribute[GAS]=no&attribute[GAS]=yes&attribute[WATER]=no".encode(),
         form, 400, "attribute[GAS]"),
        (nameless, f"multipart/form-data; boundary={boundary.decode()}", 400, "body"),
        (b"api_key=" + b"%" * 100_000, form, 403, "api_key"),
    ]  # fmt: skip
    for body, kind, status, named in cases:
        response = raw(client, body, kind)
        assert response.status_code == status, (body[:80], response.data[:300])
        errors = spec_errors(response)
        assert any(named in e["description"] for e in errors), (body[:80], errors)

    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    too_big = raw(client, f"{good}&description={'x' * 100_000}".encode(), form)
    assert too_big.status_code == 413 and spec_errors(too_big)[0]["code"] == 413

    # A multipart form is a form too; its files are not the spec's and are ignored.
    boundary, body = encode_multipart(
        {"api_key": app_key, "service_code": "SBX-SD", **SPOT, **ANSWERS}
    )
    multipart = raw(client, body, f"multipart/form-data; boundary={boundary}")
    assert multipart.status_code == 200, multipart.data
    assert tickets_stored() == 1


def test_other_methods_and_paths_are_not_500(client, app_key):
    assert (
        client.put(f"{V2}/requests.json", data={"api_key": app_key}).status_code == 405
    )
    assert client.get(f"{V2}/tokens/.json").status_code == 404
    assert client.get(f"{V2}/services/%E2%98%83.json").status_code == 404


def test_keys_cli_creates_lists_and_revokes(runner, client, city):
    created = runner.invoke(args=["keys", "create", "FixBot"])
    assert created.exit_code == 0, created.output
    secret = created.output.strip().splitlines()[-1]
    assert secret.startswith("npa_")
    key = db.session.scalar(select(AppKey))
    assert key.key_hash != secret and secret not in (key.prefix, key.name)
    assert post(client, secret).status_code == 200

    db.session.expire_all()  # the runner shares this test's session, not the request's
    listed = runner.invoke(args=["keys", "list"])
    assert listed.exit_code == 0
    assert f"{key.id}\tFixBot\t{key.prefix}" in listed.output
    assert "last used never" not in listed.output  # it filed just now
    assert secret not in listed.output

    revoked = runner.invoke(args=["keys", "revoke", str(key.id)])
    assert revoked.exit_code == 0 and "revoked key" in revoked.output
    assert post(client, secret, not_duplicate="1").status_code == 403
    assert "no application keys" in runner.invoke(args=["keys", "list"]).output
    assert "revoked" in runner.invoke(args=["keys", "list", "--all"]).output

    again = runner.invoke(args=["keys", "revoke", str(key.id)])
    assert again.exit_code == 1 and "revoked already" in again.output
    nameless = runner.invoke(args=["keys", "create", "  "])
    assert nameless.exit_code == 1 and "(name)" in nameless.output
    assert runner.invoke(args=["keys", "revoke", str(2**63)]).exit_code == 2
