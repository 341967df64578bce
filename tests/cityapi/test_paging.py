"""Listings from servers that cap, ignore or end pages oddly; where addresses go."""

import pytest
from flask import Flask

from portal.cityapi import address_fields, build_client
from portal.cityapi.errors import CityRejected, CityUnavailable
from portal.cityapi.types import NewServiceRequest
from portal.config import Config
from tests.cityapi.loopback import JSON, XML, Loopback, as_xml, body

PAST_THE_END = {
    "json": (b'{"detail": "Invalid page."}', JSON),
    "xml": (
        as_xml("errors", "error", [{"code": 404, "description": "Invalid page."}]),
        XML,
    ),
}


def record(index: int, with_id: bool = True) -> dict:
    found = {"status": "open", "service_code": "1", "description": f"number {index}",
             "requested_datetime": "2026-05-04T13:14:15+02:00"}  # fmt: skip
    if with_id:
        found["service_request_id"] = f"r{index}"
    return found


def listing(records, fmt, cap=None, fixed_size=None, past_end="empty",
            ignores_page=False):  # fmt: skip
    """A city serving ``records`` a page at a time, the way some real servers do."""

    def handle(request):
        page = 1 if ignores_page else int(request.args.get("page", 1))
        size = fixed_size or int(request.args.get("page_size", 50))
        size = min(size, cap or size)
        chunk = records[(page - 1) * size : page * size]
        if not chunk and page > 1 and past_end == "404":
            return 404, *PAST_THE_END[fmt]
        return 200, *body(fmt, chunk)

    return Loopback(handle)


@pytest.fixture(params=["json", "xml"])
def fmt(request):
    return request.param


# (records, page_size asked, server behaviour, requests the listing takes)
SERVERS = {
    "capped (Chicago: 500)": (12, 10, {"cap": 5}, 3),
    "capped, ends on a full page": (10, 20, {"cap": 5}, 3),
    "capped, 404 past the end": (10, 20, {"cap": 5, "past_end": "404"}, 3),
    "honoured, short last page": (7, 3, {}, 3),
    "honoured, ends on a full page": (6, 3, {}, 3),
    "honoured, 404 past the end": (6, 3, {"past_end": "404"}, 3),
    "fits in one page: one more request": (3, 10, {}, 2),
    "fits in one page, 404 after it": (3, 10, {"past_end": "404"}, 2),
    "page_size ignored, bigger pages": (20, 5, {"fixed_size": 8}, 3),
    "page_size ignored, smaller pages": (20, 500, {"fixed_size": 8}, 3),
    "page ignored": (4, 10, {"ignores_page": True}, 2),
    "no requests at all": (0, 10, {}, 1),
}


@pytest.mark.parametrize("count, page_size, behaviour, calls", SERVERS.values(),
                         ids=SERVERS.keys())  # fmt: skip
def test_every_record_once_whatever_the_paging(fmt, count, page_size, behaviour, calls):
    records = [record(i) for i in range(count)]
    server = listing(records, fmt, **behaviour)
    try:
        pages = list(server.client(fmt=fmt).iter_requests(page_size=page_size))
    finally:
        server.close()
    got = [r.service_request_id for page in pages for r in page]
    assert got == [f"r{i}" for i in range(count)]
    assert all(pages)  # an empty page ends the listing; it is not yielded
    assert len(server.seen) == calls
    assert [int(args["page"]) for _m, _p, args, _f in server.seen] == list(
        range(1, calls + 1)
    )
    assert {args["page_size"] for _m, _p, args, _f in server.seen} == {str(page_size)}


def test_records_without_id_or_token_still_count_toward_a_full_page(fmt):
    # Chicago lists requests still being processed with neither; they are skipped,
    # but the page they came in was full.
    records = [record(i, with_id=i % 5 != 0) for i in range(12)]
    server = listing(records, fmt, cap=5)
    try:
        pages = list(server.client(fmt=fmt).iter_requests(page_size=5))
    finally:
        server.close()
    assert [len(page) for page in pages] == [4, 4, 1]
    assert len(server.seen) == 3


def test_a_404_on_the_first_page_is_still_a_refusal(fmt):
    server = Loopback(lambda request: (404, *PAST_THE_END[fmt]))
    try:
        client = server.client(fmt=fmt)
        with pytest.raises(CityRejected) as caught:
            list(client.iter_requests(status="open"))
        assert caught.value.status == 404 and caught.value.reason == "Invalid page."
        # Asking for ids the city does not have: the spec's 404, an empty listing.
        assert list(client.iter_requests(service_request_id=["r1", "r2"])) == []
    finally:
        server.close()


def test_a_server_error_past_page_one_still_stops_the_listing(fmt):
    def handle(request):
        if request.args["page"] == "1":
            return 200, *body(fmt, [record(i) for i in range(3)])
        return 500, b"<html><title>Oops</title></html>", {"Content-Type": "text/html"}

    server = Loopback(handle)
    try:
        pages = server.client(fmt=fmt).iter_requests(page_size=3)
        assert len(next(pages)) == 3
        with pytest.raises(CityUnavailable) as caught:
            next(pages)
    finally:
        server.close()
    assert caught.value.reason == "the city is unavailable (HTTP 500): Oops"


# --- where an address-only request puts its address ---


def address_reader(request):
    """Like the servers that read only `address` and crash without a location."""
    if request.form.get("lat") is None and not request.form.get("address"):
        return 500, b"Internal Server Error", {"Content-Type": "text/plain"}
    return 200, b'[{"service_request_id": "a1"}]', JSON


ADDRESSED = NewServiceRequest(service_code="1", address_string="100 Market St")


def test_the_address_goes_under_both_names_by_default():
    server = Loopback(address_reader)
    try:
        receipt = server.client(api_key="k").submit_request(ADDRESSED)
        with pytest.raises(CityUnavailable) as caught:
            server.client(address_fields=("address_string",)).submit_request(ADDRESSED)
        server.client(address_fields=["address"]).submit_request(ADDRESSED)
        server.client().submit_request(
            NewServiceRequest(service_code="1", lat=39.9, long=-75.1)
        )
    finally:
        server.close()
    assert receipt.service_request_id == "a1"
    forms = [form for _m, _p, _a, form in server.seen]
    assert forms[0]["address_string"] == forms[0]["address"] == ["100 Market St"]
    assert list(forms[0]) == ["api_key", "service_code", "address_string", "address"]
    assert caught.value.status == 500 and caught.value.maybe_stored
    assert caught.value.words == "Internal Server Error"
    assert "address_string" not in forms[2] and forms[2]["address"] == ["100 Market St"]
    assert "address" not in forms[3] and "address_string" not in forms[3]


@pytest.mark.parametrize(
    "setting, names",
    [
        (None, ("address_string", "address")),
        (Config.CITY_ADDRESS_FIELDS, ("address_string", "address")),
        (["address"], ("address",)),
        ("address", ("address",)),
        (" address_string , address ", ("address_string", "address")),
        ("", ("address_string", "address")),
        ([], ("address_string", "address")),
    ],
)
def test_city_address_fields_setting(setting, names):
    assert address_fields(setting) == names
    app = Flask(__name__)
    app.config.from_object(Config)
    app.config.update(CITY_URL="http://127.0.0.1:9/v2", CITY_ADDRESS_FIELDS=setting)
    assert build_client(app).address_fields == names


@pytest.mark.parametrize("fields", [(), "address"])
def test_address_fields_must_be_names(fields):
    from portal.cityapi.client import Open311Client

    with pytest.raises(ValueError):
        Open311Client("http://127.0.0.1:9/v2", address_fields=fields)
