"""Every real Open311 response in ../shared/data parses, in JSON and in XML."""

import csv
import json
import os
import xml.etree.ElementTree as ET
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from portal.cityapi import parse


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
