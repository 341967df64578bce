"""The GeoReport v2 client over real HTTP: the sandbox city, and a hostile server."""

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from portal.cityapi.errors import CityRejected, CityUnavailable
from portal.cityapi.types import NewServiceRequest
from tests.cityapi.loopback import JSON, XML, Mute, as_xml

DUMPING = {"WHAT": ["tires", "bags"], "DETAILS": "behind the garage"}


@pytest.fixture(params=["json", "xml"])
def city(request, sandbox_server):
    return sandbox_server.client(fmt=request.param)


def test_discovery_services_and_definitions(city):
    assert "application/json" in city.discovery().endpoints[0]["formats"]
    services = {s.code: s for s in city.list_services()}
    assert len(services) >= 30
    assert services["SBX-AV"].type == "batch" and services["SBX-TCR"].type == "batch"
    assert (
        services["SBX-SD"].metadata and services["SBX-SD"].group == "Streets Department"
    )
    datatypes = set()
    for code in ("SBX-SD", "SBX-DUMP", "SBX-TCR", "SBX-IR", "SBX-SLO"):
        definition = city.get_service_definition(code)
        assert [a.order for a in definition.attributes] == sorted(
            a.order for a in definition.attributes
        )
        datatypes |= {a.datatype for a in definition.attributes}
    assert {
        "singlevaluelist",
        "multivaluelist",
        "number",
        "text",
        "datetime",
        "string",
    } <= datatypes
    gas = city.get_service_definition("SBX-SD").attributes[0]
    assert (
        gas.code == "GAS"
        and gas.required
        and {v.key for v in gas.values} >= {"yes", "no"}
    )


def test_submit_with_single_and_multi_value_attributes(city):
    receipt = city.submit_request(
        NewServiceRequest(
            service_code="SBX-DUMP",
            lat=39.97,
            long=-75.13,
            description="Tires",
            attributes=DUMPING,
        )
    )
    assert receipt.service_request_id and receipt.token is None
    stored = city.get_request(receipt.service_request_id)
    assert stored.service_code == "SBX-DUMP" and stored.description == "Tires"
    assert stored.requested_datetime.tzinfo is not None


def test_required_attribute_missing_is_rejected_with_the_citys_words(city):
    with pytest.raises(CityRejected) as caught:
        city.submit_request(
            NewServiceRequest(service_code="SBX-SD", lat=39.9, long=-75.1)
        )
    assert caught.value.status == 400
    assert "attribute[GAS] is required" in caught.value.reason


def test_wrong_key_and_unknown_service(sandbox_server):
    wrong = sandbox_server.client(api_key="not-the-key")
    with pytest.raises(CityRejected) as caught:
        wrong.submit_request(
            NewServiceRequest(service_code="SBX-DV", lat=39.9, long=-75.1)
        )
    assert caught.value.status == 403 and "api_key" in caught.value.reason
    with pytest.raises(CityRejected) as caught:
        sandbox_server.client().get_service_definition("NOPE")
    assert caught.value.status == 404


def test_batch_service_answers_a_token_resolved_later(city):
    receipt = city.submit_request(
        NewServiceRequest(service_code="SBX-AV", address_string="100 Market St")
    )
    assert receipt.token and receipt.service_request_id is None
    request_id = city.request_id_from_token(receipt.token)
    assert request_id and city.get_request(request_id).service_code == "SBX-AV"
    assert city.request_id_from_token("unknown-token") is None


def test_get_requests_filters_and_pages(city):
    ids = []
    for index in range(7):
        code = "SBX-DV" if index % 2 else "SBX-MH"
        ids.append(
            city.submit_request(
                NewServiceRequest(service_code=code, lat=39.9, long=-75.1)
            ).service_request_id
        )
    assert {
        r.service_request_id for r in city.get_requests(service_code="SBX-DV")
    } == set(ids[1::2])
    pages = list(city.iter_requests(page_size=3))
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [
        r.service_request_id for r in city.get_requests(service_request_id=ids[:2])
    ] == ids[:2]
    future = datetime.now(UTC) + timedelta(hours=1)
    assert city.get_requests(updated_after=future) == []
    assert len(city.get_requests(status=["open", "closed"])) == 7
    with pytest.raises(CityRejected):
        city.get_requests(page_size=5000)
    assert city.get_request("999999") is None


@pytest.mark.parametrize(
    "fault, maybe_stored",
    [
        ("error", True),
        ("unavailable", False),
        ("malformed", True),
        ("drop", True),
        ("timeout", True),
    ],  # fmt: skip
)
def test_faults_become_city_unavailable(sandbox_server, fault, maybe_stored):
    sandbox_server.faults(**{fault: 1.0, "timeout_seconds": 0.6, "retry_after": "7"})
    client = sandbox_server.client(timeout=0.25)
    with pytest.raises(CityUnavailable) as caught:
        client.submit_request(
            NewServiceRequest(service_code="SBX-DV", lat=39.9, long=-75.1)
        )
    assert caught.value.maybe_stored is maybe_stored
    if fault == "unavailable":
        assert caught.value.retry_after == 7
    with pytest.raises(CityUnavailable):
        client.list_services()


def test_connection_refused_is_unavailable_and_not_stored():
    from portal.cityapi.client import Open311Client

    client = Open311Client("http://127.0.0.1:9/open311/v2", timeout=1)
    with pytest.raises(CityUnavailable) as caught:
        client.submit_request(NewServiceRequest(service_code="X", lat=1, long=2))
    assert not caught.value.maybe_stored and "connect" in caught.value.reason
    assert caught.value.status is None and caught.value.words is None


@pytest.mark.parametrize("drop", [False, True], ids=["no answer", "dropped"])
def test_no_answer_at_all_has_no_status_and_no_words(drop):
    from portal.cityapi.client import Open311Client

    mute = Mute(drop=drop)
    try:
        client = Open311Client(mute.endpoint, timeout=0.3)
        with pytest.raises(CityUnavailable) as caught:
            client.submit_request(NewServiceRequest(service_code="X", lat=1, long=2))
    finally:
        mute.close()
    error = caught.value
    assert error.status is None and error.words is None and error.maybe_stored
    assert error.reason == (
        "the connection to the city failed: RemoteProtocolError"
        if drop
        else "the city did not answer in time"
    )


BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE b [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><services>&b;</services>'
)


@pytest.mark.parametrize(
    "status, body, headers, reason",
    [
        (
            200,
            b"<html><h1>Maintenance</h1></html>",
            {"Content-Type": "text/html"},
            "could not be read",
        ),
        (200, b'[{"service_code": "1", "service_na', None, "could not be read"),
        (200, BOMB, {"Content-Type": "text/xml"}, "could not be read"),
        (200, b'{"services": 12}', None, "could not be read"),
        (502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}, "HTTP 502"),
        (200, b"[" + b'{"service_code":"1"},' * 600_000 + b"{}]", None, "larger than"),
    ],
)
def test_hostile_bodies_are_unavailable_with_a_reason(
    hostile, status, body, headers, reason
):
    with pytest.raises(CityUnavailable) as caught:
        hostile(status, body, headers).list_services()
    assert reason in caught.value.reason


def test_non_spec_error_bodies_still_reject_readably(hostile):
    client = hostile(400, b"<html>Bad Request</html>", {"Content-Type": "text/html"})
    with pytest.raises(CityRejected) as caught:
        client.list_services()
    assert caught.value.reason == "Bad Request"
    client = hostile(
        400,
        b'[{"code": 400, "description": "CRM is down"},'
        b' {"code": 401, "description": "try later"}]',
    )
    with pytest.raises(CityRejected) as caught:
        client.list_services()
    assert caught.value.reason == "CRM is down; try later"


def test_retry_after_as_an_http_date(hostile):
    when = datetime.now(UTC) + timedelta(seconds=120)
    client = hostile(503, b"busy", {"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(CityUnavailable) as caught:
        client.list_services()
    assert 100 < caught.value.retry_after <= 120
    assert caught.value.reason == "the city is unavailable (HTTP 503): busy"


def test_post_answered_201_with_a_whole_request(hostile):
    client = hostile(
        201, b'{"service_request_id": 4711, "status": "open"}', api_key="k"
    )
    receipt = client.submit_request(NewServiceRequest(service_code="1", lat=1, long=2))
    assert receipt.service_request_id == "4711"


def test_400_where_403_was_meant_is_a_refusal(hostile):
    client = hostile(
        400, b'[{"code": 403, "description": "Invalid api_key received"}]', api_key="x"
    )
    with pytest.raises(CityRejected) as caught:
        client.submit_request(NewServiceRequest(service_code="1", lat=1, long=2))
    assert caught.value.status == 400
    assert caught.value.errors == [("403", "Invalid api_key received")]


FULL_REQUEST = {"service_request_id": "ysunnrb0", "status": "Open", "service_code": 17,
                "requested_datetime": "2026-05-04T13:14:15.123456+02:00",
                "description": "", "lat": "60.17", "long": "24.94"}  # fmt: skip


@pytest.mark.parametrize(
    "status, body, headers",
    [
        (201, json.dumps(FULL_REQUEST).encode(), JSON),
        (201, json.dumps([FULL_REQUEST]).encode(), JSON),
        (200, json.dumps([FULL_REQUEST, {**FULL_REQUEST, "x": 1}]).encode(), JSON),
        (201, as_xml("service_requests", "request", [FULL_REQUEST]), XML),
        (201, as_xml("requests", "request", [FULL_REQUEST]), XML),
        (
            201,
            as_xml(
                "service_requests",
                "request",
                [FULL_REQUEST],
                namespace="http://wiki.open311.org/GeoReport_v2",
            ),
            XML,
        ),
        # The whole request as the root element.
        (
            201,
            b'<?xml version="1.0" encoding="utf-8"?><request><service_request_id>'
            b"ysunnrb0</service_request_id><status>open</status></request>",
            XML,
        ),
    ],  # fmt: skip
)
def test_post_answered_with_whole_requests(hostile, status, body, headers):
    client = hostile(status, body, headers, api_key="k")
    receipt = client.submit_request(NewServiceRequest(service_code="17", lat=1, long=2))
    assert receipt.service_request_id == "ysunnrb0" and receipt.token is None


@pytest.mark.parametrize(
    "status, stored", [(302, True), (303, True), (500, True), (503, False)]
)
def test_what_a_posts_answer_says_of_whether_the_city_stored_it(
    hostile, status, stored
):
    # A redirect after a POST usually follows a stored request: look before posting.
    client = hostile(status, b"", {"Location": "/elsewhere"}, api_key="k")
    with pytest.raises(CityUnavailable) as failed:
        client.submit_request(NewServiceRequest(service_code="17", lat=1, long=2))
    assert failed.value.maybe_stored is stored and failed.value.status == status
