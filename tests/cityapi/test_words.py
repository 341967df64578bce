"""The city's words in error bodies, through the client and alone: every shape."""

import json

import pytest

from portal.cityapi.errors import CityRejected, CityUnavailable
from portal.cityapi.types import NewServiceRequest
from portal.cityapi.words import MAX_WORDS, error_pairs, joined, squeeze
from tests.cityapi.loopback import JSON, XML, Loopback

# --- error bodies in every shape: the city's own words ---

HTML = {"Content-Type": "text/html; charset=utf-8"}
TEXT = {"Content-Type": "text/plain"}
SPEC_XML = (
    b'<?xml version="1.0" encoding="utf-8"?><errors>'
    b"<error><code>403</code><description>Invalid api_key</description></error>"
    b"<error><code>400</code><description>try later</description></error></errors>"
)
WORDY_BODIES = [
    (b'[{"code": 403, "description": "Invalid api_key"},'
     b' {"code": 400, "description": "try later"}]', JSON,
     [("403", "Invalid api_key"), ("400", "try later")]),
    (SPEC_XML, XML, [("403", "Invalid api_key"), ("400", "try later")]),
    (SPEC_XML.replace(b"<errors>", b'<errors xmlns="http://wiki.open311.org/GeoReport_v2">'),
     XML, [("403", "Invalid api_key"), ("400", "try later")]),
    (b"<errors><error><code>400</code><description>one</description></error></errors>",
     XML, [("400", "one")]),
    (b'{"code": 400, "detail": "Invalid API key"}', JSON, [("400", "Invalid API key")]),
    (b'{"code": 400, "detail": ["Invalid API key", "see the docs"]}', JSON,
     [("400", "Invalid API key"), ("400", "see the docs")]),
    (b'{"detail": "Not allowed."}', JSON, [("", "Not allowed.")]),
    (b'{"message": "CRM is down"}', JSON, [("", "CRM is down")]),
    (b'{"error": "bad key"}', JSON, [("", "bad key")]),
    (b'{"error": {"code": 7, "message": "nested"}}', JSON, [("7", "nested")]),
    (b'"Invalid API key"', JSON, [("", "Invalid API key")]),
    (b"Invalid API key\r\n", TEXT, [("", "Invalid API key")]),
    (b"Invalid API key", JSON, [("", "Invalid API key")]),  # JSON by its label only
    (b"<!DOCTYPE html><html><head><title>Error 42</title><script>var s = 'x';</script>"
     b"</head><body><h1>Something  broke</h1><p>Sorry.</p></body></html>", HTML,
     [("", "Error 42: Something broke")]),
    (b"<html><head><title>502 Bad Gateway</title></head><body><center>"
     b"<h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", HTML,
     [("", "502 Bad Gateway")]),
    (b"<html><body><script>alert('no')</script><style>p {}</style><div>The  server\n"
     b"is <b>down</b>&nbsp;today</div></body></html>", JSON,
     [("", "The server is down today")]),
]  # fmt: skip
WORDLESS_BODIES = [
    (b"", JSON), (b"{}", JSON), (b"[]", JSON), (b"null", JSON), (b"  \n", TEXT),
    (b"<errors></errors>", XML),
    (b"<html><body><script>x()</script></body></html>", HTML),
]  # fmt: skip


@pytest.mark.parametrize("body, headers, pairs", WORDY_BODIES)
def test_a_refusal_carries_the_citys_words(hostile, body, headers, pairs):
    client = hostile(400, body, headers, fmt="xml" if headers is XML else "json")
    with pytest.raises(CityRejected) as caught:
        client.list_services()
    assert caught.value.errors == pairs
    assert caught.value.reason == "; ".join(text for _code, text in pairs)


@pytest.mark.parametrize("body, headers, pairs", WORDY_BODIES)
def test_a_server_error_carries_the_citys_words(hostile, body, headers, pairs):
    client = hostile(500, body, headers, fmt="xml" if headers is XML else "json")
    reasons = set()
    for _ in range(2):
        with pytest.raises(CityUnavailable) as caught:
            client.list_services()
        reasons.add(caught.value.reason)
    said = "; ".join(text for _code, text in pairs)
    assert reasons == {f"the city is unavailable (HTTP 500): {said}"}
    assert caught.value.words == said and caught.value.status == 500
    assert not caught.value.maybe_stored and caught.value.retry_after is None


@pytest.mark.parametrize("body, headers", WORDLESS_BODIES)
def test_an_answer_without_words_falls_back_to_the_status(hostile, body, headers):
    client = hostile(400, body, headers)
    with pytest.raises(CityRejected) as caught:
        client.list_services()
    assert caught.value.reason == "the city refused the request (HTTP 400)"
    assert caught.value.errors == []
    client = hostile(502, body, headers)
    with pytest.raises(CityUnavailable) as caught:
        client.submit_request(NewServiceRequest(service_code="1", lat=1, long=2))
    assert caught.value.reason == "the city is unavailable (HTTP 502)"
    assert caught.value.words is None and caught.value.status == 502
    assert caught.value.maybe_stored


def test_the_same_error_gives_the_same_reason_whatever_changes_around_it():
    answers = iter(range(10))

    def spring(request):
        moment = f"2026-03-0{next(answers)}T10:00:00.123+00:00"
        body = {"timestamp": moment, "status": 500, "error": "Internal Server Error",
                "path": request.path}  # fmt: skip
        return 500, json.dumps(body), {**JSON, "X-Request-Id": moment}

    server = Loopback(spring)
    try:
        client = server.client()
        reasons = []
        for call in (client.list_services, client.discovery):
            with pytest.raises(CityUnavailable) as caught:
                call()
            reasons.append(caught.value.reason)
    finally:
        server.close()
    assert reasons == ["the city is unavailable (HTTP 500): Internal Server Error"] * 2


def test_a_long_error_page_is_cut_to_its_first_words(hostile):
    page = b"<html><body><p>" + b"word " * 5000 + b"</p></body></html>"
    with pytest.raises(CityRejected) as caught:
        hostile(400, page, HTML).list_services()
    reason = caught.value.reason
    assert 250 < len(reason) <= 300 and reason.startswith("word word")


# --- the words module alone ---


@pytest.mark.parametrize(
    "body, content_type, fmt, pairs",
    [
        # Django REST framework's validation errors name the field.
        (b'{"service_code": ["This field is required."], "lat": "bad"}', "", "json",
         [("", "service_code: This field is required."), ("", "lat: bad")]),
        # Spring Boot: the words, not the timestamp or the path.
        (b'{"timestamp": "2026-01-01T00:00:00Z", "status": 400, "error": "Bad Request",'
         b' "path": "/v2/requests.json"}', "application/json", "json",
         [("", "Bad Request")]),
        (b'[{"code": 400, "description": "twice"},'
         b' {"code": 400, "description": "twice"}]', "", "json", [("400", "twice")]),
        # XML under a JSON label, and JSON under an XML one.
        (b"<error><code>400</code><message>bad key</message></error>", "", "json",
         [("400", "bad key")]),
        (b'{"detail": "Invalid page."}', "text/xml", "xml", [("", "Invalid page.")]),
        (b'<?xml version="1.0"?><!DOCTYPE html><html xmlns="http://www.w3.org/1999/xhtml">'
         b"<head><title>Oops</title></head><body><h1>Broken</h1></body></html>",
         "application/xml", "xml", [("", "Oops: Broken")]),
        (b"<html><title>Only a title</title><body><p>and text</p></body></html>", "",
         "json", [("", "Only a title")]),
        (b"<html><body><script>never()", "text/html", "json", []),
        (b"<html><head><meta charset=utf-8><body>Left open", "", "json",
         [("", "Left open")]),
        (b"line one\n\tline\x00 two\xff", "text/plain", "json",
         [("", "line one line two")]),
    ],
)  # fmt: skip
def test_error_pairs(body, content_type, fmt, pairs):
    assert error_pairs(body, content_type, fmt) == pairs


def test_words_are_capped_at_a_word_boundary():
    text = squeeze("alpha " * 200)
    assert len(text) <= MAX_WORDS and text.endswith("alpha…")
    assert squeeze("  short\n\n text ") == "short text"
    huge = b"<html><body>" + b"<p>word</p>" * 1_000_000 + b"</body></html>"
    ((_code, words),) = error_pairs(huge, "text/html", "json")
    assert len(words) <= MAX_WORDS


def test_joined_reason():
    assert joined([]) is None
    assert joined([("1", "a"), ("2", "b")]) == "a; b"
    assert len(joined([("", "x" * 300)] * 10)) <= 1000
