"""Every real Open311 response in ../shared/data parses, in JSON and in XML."""

import csv
import json
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.cityapi import parse
from portal.cityapi.types import Note
from tests.cityapi.loopback import as_xml


def read(shared_data, name) -> bytes:
    with open(os.path.join(shared_data, "open311", name), "rb") as handle:
        return handle.read()


@pytest.mark.parametrize(
    "name, count",
    [
        ("bloomington_services.json", 46),
        ("bloomington_services_2026.json", 63),
        ("chicago_services.json", 191),
        ("new_haven_seeclickfix_services_2026.json", 44),
    ],
)
def test_service_lists(shared_data, name, count):
    services = parse.parse_services(parse.decode(read(shared_data, name), "json"))
    assert len(services) == count
    assert all(isinstance(s.code, str) and s.code and s.name for s in services)


def test_seeclickfix_numeric_codes_become_strings(shared_data):
    body = read(shared_data, "new_haven_seeclickfix_services_2026.json")
    services = parse.parse_services(parse.decode(body, "json"))
    assert services[0].code == "43965" and services[0].group == "Public Health"


def test_san_francisco_xml_services(shared_data):
    body = read(shared_data, "san_francisco_services.xml")
    services = parse.parse_services(parse.decode(body, "xml"))
    assert len(services) == 38
    assert services[0].code == "001"  # leading zeros kept: a string, not a number


def test_service_definition(shared_data):
    body = read(shared_data, "bloomington_service_definition_69_2026.json")
    definition = parse.parse_definition(parse.decode(body, "json"), "69")
    (issue,) = definition.attributes
    assert issue.datatype == "singlevaluelist" and not issue.required
    assert [v.key for v in issue.values][:1] == ["City Maintained Light"]


@pytest.mark.parametrize(
    "name, count",
    [("bloomington_requests.json", 21), ("chicago_requests_2014.json", 2)],
)
def test_request_lists(shared_data, name, count):
    requests = parse.parse_requests(parse.decode(read(shared_data, name), "json"), UTC)
    assert len(requests) == count
    for request in requests:
        assert isinstance(request.service_request_id, str)
        assert request.requested_datetime.tzinfo is not None
        assert request.status in ("open", "closed")


def test_san_francisco_xml_requests(shared_data):
    body = read(shared_data, "san_francisco_requests.xml")
    pacific = ZoneInfo("America/Los_Angeles")
    requests = parse.parse_requests(parse.decode(body, "xml"), pacific)
    assert len(requests) == 56
    first = requests[0]
    assert first.status == "open"  # "Open" in the file
    assert first.updated_datetime is None  # xsi:nil
    assert first.requested_datetime.tzinfo == pacific  # no zone given: the city's
    assert first.requested_datetime.microsecond == 970000  # fractional seconds


def _tsv_rows(shared_data):
    with open(
        os.path.join(shared_data, "open311", "multi_city_requests_2019.tsv")
    ) as f:
        return list(csv.DictReader(f, delimiter="\t"))


def _as_xml(rows) -> bytes:
    root = ET.Element("service_requests")
    for row in rows:
        request = ET.SubElement(root, "request")
        for key, value in row.items():
            if key != "city":
                ET.SubElement(request, key).text = value
    return ET.tostring(root, "utf-8")


def test_multi_city_rows_as_json_and_xml(shared_data):
    rows = _tsv_rows(shared_data)
    assert len(rows) == 701
    as_json = [{k: v for k, v in r.items() if k != "city"} for r in rows]
    from_json = parse.parse_requests(
        parse.decode(json.dumps(as_json).encode(), "json"), UTC
    )
    from_xml = parse.parse_requests(parse.decode(_as_xml(rows), "xml"), UTC)
    assert len(from_json) == len(from_xml) == 701
    assert from_json == from_xml
    by_city = {}
    for row, request in zip(rows, from_json, strict=True):
        by_city.setdefault(row["city"], []).append(request)
        assert request.service_request_id == row["service_request_id"]
        assert request.status == row["status"].lower()
        assert request.requested_datetime.tzinfo is not None
    assert {city: len(found) for city, found in by_city.items()}["Boston_MA"] == 200


@pytest.mark.parametrize(
    "body, fmt",
    [
        (b"<html><body>Bad gateway</body></html>", "json"),
        (b'[{"service_request_id": "1"', "json"),
        (b"\xff\xfe not utf8", "json"),
        (b"[" * 100_000 + b"]" * 100_000, "json"),
        (b"<service_requests><request>", "xml"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
            b"<service_requests>&lol2;</service_requests>",
            "xml",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<errors>&e;</errors>",
            "xml",
        ),
    ],
)
def test_unreadable_bodies_raise_value_error(body, fmt):
    with pytest.raises(ValueError):
        parse.decode(body, fmt)


@pytest.mark.parametrize(
    "data", ["a string", [1, 2, 3], [{"service_code": "x"}, "text"]]
)
def test_wrong_shapes_raise_value_error(data):
    with pytest.raises(ValueError):
        parse.parse_requests(data, UTC)


def test_an_object_without_requests_holds_none():
    assert parse.parse_requests({"unexpected": "object"}, UTC) == []


def test_deviations_are_read():
    data = [
        {"service_request_id": 123, "status": "Closed",
         "requested_datetime": "2026-01-02T03:04:05.123456Z",
         "updated_datetime": "", "lat": "39.95", "long": None, "description": ""},
        {"status": "open"},  # still processing: neither id nor token
    ]  # fmt: skip
    (request,) = parse.parse_requests(data, UTC)
    assert request.service_request_id == "123" and request.status == "closed"
    assert request.updated_datetime is None and request.description is None
    assert request.lat == 39.95 and request.long is None
    receipt = parse.parse_receipt(
        {"service_request_id": 9, "status": "open"}
    )  # a 201 object
    assert receipt.service_request_id == "9"
    assert parse.parse_receipt({"service_requests": [{"token": "abc"}]}).token == "abc"


# --- the deviations of OPEN311.md, in JSON and in XML ---

GEOREPORT_NS = "http://wiki.open311.org/GeoReport_v2"
HELSINKI = {"service_request_id": "ysunnrb0", "status": "Closed", "service_code": 17,
            "requested_datetime": "2026-05-04T13:14:15.123456+02:00",
            "updated_datetime": "", "description": "", "status_notes": "Fixed.",
            "lat": "60.17", "long": "", "zipcode": 100}  # fmt: skip


def encoded(fmt, records, root="service_requests", item="request", namespace=""):
    if fmt == "xml":
        return parse.decode(as_xml(root, item, records, namespace), "xml")
    return parse.decode(json.dumps(records).encode(), "json")


@pytest.mark.parametrize(
    "fmt, root, namespace",
    [("json", None, ""), ("xml", "service_requests", ""), ("xml", "requests", ""),
     ("xml", "service_requests", GEOREPORT_NS), ("xml", "requests", GEOREPORT_NS)],
)  # fmt: skip
@pytest.mark.parametrize("count", [1, 2])
def test_requests_whatever_the_root_and_the_nulls(fmt, root, namespace, count):
    records = [HELSINKI, {**HELSINKI, "service_request_id": 4711}][:count]
    data = encoded(fmt, records, root or "", namespace=namespace)
    requests = parse.parse_requests(data, UTC)
    assert [r.service_request_id for r in requests] == ["ysunnrb0", "4711"][:count]
    first = requests[0]
    assert first.status == "closed" and first.service_code == "17"
    assert first.zipcode == "100" and first.status_notes == "Fixed."
    assert first.updated_datetime is None and first.description is None
    assert first.lat == 60.17 and first.long is None
    moment = first.requested_datetime
    assert moment.utcoffset() == timedelta(hours=2) and moment.microsecond == 123456
    assert moment == datetime(2026, 5, 4, 11, 14, 15, 123456, tzinfo=UTC)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_chicago_records_with_neither_id_nor_token_are_skipped_but_counted(fmt):
    records = [{"status": "open", "service_code": "4ffa"}, HELSINKI,
               {"token": "t-1", "status": "open"}]  # fmt: skip
    sent, kept = parse.parse_page(encoded(fmt, records), UTC)
    assert sent == 3
    assert [(r.service_request_id, r.token) for r in kept] == [
        ("ysunnrb0", None),
        (None, "t-1"),
    ]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_integer_service_codes_and_organization_for_group(fmt):
    records = [{"service_code": 43965, "service_name": "Potholes", "metadata": "false",
                "type": "realtime", "organization": "Public Works"},
               {"service_code": 7, "service_name": "Trees", "group": "Parks",
                "organization": "ignored"}]  # fmt: skip
    data = encoded(fmt, records, "services", "service")
    services = parse.parse_services(data)
    assert [(s.code, s.group) for s in services] == [
        ("43965", "Public Works"),
        ("7", "Parks"),
    ]


BOSTON_DEFINITION = {
    "service_code": 4711,
    "attributes": [
        {"variable": False, "code": "NOTICE", "datatype": "informational",
         "required": False, "order": 1, "description": "Call 911 for emergencies."},
        {"variable": True, "code": "KIND", "datatype": "singlevaluelist",
         "required": True, "order": 3, "description": "What kind?",
         "values": [{"key": 1, "name": "Pothole"}, {"key": 2, "name": "Other"}]},
        {"variable": True, "code": "OTHER", "datatype": "string", "order": 2,
         "description": "Which other?",
         "dependencies": {"clause": "AND", "conditions": [
             {"attribute": "KIND", "op": "eq", "value": "2"}]}},
    ],
    "definitions": {"anything": "extra"},
    "activities": [{"code": "a"}],
    "service_level_agreement": {"days": 3},
}  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_boston_informational_attributes_and_dependencies(fmt):
    if fmt == "xml":
        # The real shape: <service_definition> is the root.
        element = ET.fromstring(
            as_xml("root", "service_definition", [BOSTON_DEFINITION])
        )
        data = parse.decode(ET.tostring(element[0]), "xml")
    else:
        data = parse.decode(json.dumps(BOSTON_DEFINITION).encode(), "json")
    definition = parse.parse_definition(data, "4711")
    assert definition.service_code == "4711"
    notice, other, kind = definition.attributes  # by order
    assert notice.datatype == "informational" and not notice.variable
    assert other.code == "OTHER" and other.datatype == "string" and not other.required
    assert kind.required and [v.key for v in kind.values] == ["1", "2"]


NOTES = [
    {"datetime": "2026-05-04T13:14:15.5+02:00", "summary": "Request opened",
     "type": "Opened", "extended_attributes": {"x": "y"}},
    {"datetime": "2026-05-05T09:00:00-05:00", "description": "Crew sent",
     "type": "activity"},
    {"type": "activity"},  # nothing to say: dropped
]  # fmt: skip


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_extension_notes(fmt):
    (request,) = parse.parse_requests(encoded(fmt, [{**HELSINKI, "notes": NOTES}]), UTC)
    opened, crew = request.notes
    assert opened == Note(
        datetime=datetime(2026, 5, 4, 11, 14, 15, 500000, tzinfo=UTC),
        summary="Request opened",
        type="opened",
    )
    assert crew.summary == "Crew sent" and crew.type == "activity"
    assert crew.datetime.utcoffset() == timedelta(hours=-5)
    (one,) = parse.parse_requests(encoded(fmt, [{**HELSINKI, "notes": NOTES[:1]}]), UTC)
    assert one.notes == (opened,)
    # Notes are history, not identity: a request equals itself without them.
    (bare,) = parse.parse_requests(encoded(fmt, [HELSINKI]), UTC)
    assert bare.notes == () and bare == request


def test_notes_of_a_strange_shape_cost_only_the_notes():
    for notes in ("opened", 12, [1, 2], {"summary": "one"}):
        (request,) = parse.parse_requests([{**HELSINKI, "notes": notes}], UTC)
        assert request.service_request_id == "ysunnrb0"
    assert request.notes == (Note(datetime=None, summary="one"),)


@pytest.mark.parametrize(
    "fmt, root", [("json", None), ("xml", "service_requests"), ("xml", "requests")]
)
def test_post_answered_with_an_array_of_full_requests(fmt, root):
    data = encoded(fmt, [HELSINKI, {**HELSINKI, "service_request_id": "other"}],
                   root or "")  # fmt: skip
    receipt = parse.parse_receipt(data)
    assert receipt.service_request_id == "ysunnrb0" and receipt.token is None
    whole = parse.decode(
        b"<request><service_request_id>9</service_request_id>"
        b"<status>open</status><description/></request>",
        "xml",
    )
    assert parse.parse_receipt(whole).service_request_id == "9"
