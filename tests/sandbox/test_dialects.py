"""The sandbox city's dialects: each deviation happens, and a tolerant client copes."""

import random
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from flask import Flask

from portal.sandbox import city, dialects
from portal.sandbox.catalog import SEECLICKFIX_CODES, SERVICES
from portal.sandbox.dialects import ALL, set_dialects
from portal.sandbox.seed import seed
from portal.sandbox.server import create_sandbox_app

KEY = "dialect-key"
LOCATED = {"api_key": KEY, "lat": "39.95", "long": "-75.16"}
# What a POST to a service without attributes carries (SBX-ALO: Alley Light Outage).
PLAIN = {**LOCATED, "service_code": "SBX-ALO", "description": "Alley is dark"}
NS = "{http://wiki.open311.org/GeoReport_v2}"


@pytest.fixture
def make_city(tmp_path):
    apps = []

    def make(*names, delay=0, seeded=0):
        app = create_sandbox_app({
            "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path}/city{len(apps)}.db",
            "SANDBOX_API_KEY": KEY, "SANDBOX_BATCH_DELAY": delay,
            "SANDBOX_SEED_COUNT": 0, "SANDBOX_DIALECT": list(names),
        })  # fmt: skip
        apps.append(app)
        if seeded:
            seed(store_of(app), seeded, random.Random(7))
        return app.test_client()

    yield make
    for app in apps:
        store_of(app).dispose()


def store_of(app_or_client):
    app = getattr(app_or_client, "application", app_or_client)
    return app.extensions["sandbox_store"]


def post(client, fmt="json", **form):
    return client.post(f"/open311/v2/requests.{fmt}", data={**PLAIN, **form})


def first_id(client, **form) -> str:
    return str(post(client, **form).get_json()[0]["service_request_id"])


def listing(client, fmt="json", **args):
    args.setdefault("status", "open,closed")
    return client.get(f"/open311/v2/requests.{fmt}", query_string=args)


# --- config --------------------------------------------------------------------


def test_names_parse_from_lists_strings_and_the_environment(monkeypatch):
    assert len(set(ALL)) == len(ALL)
    assert dialects.parse(None) == dialects.parse("") == dialects.parse([]) == set()
    assert dialects.parse("page_cap, created_201") == {"page_cap", "created_201"}
    assert dialects.parse(["page_cap", "numeric_ids,seeclickfix"]) == {
        "page_cap", "numeric_ids", "seeclickfix"}  # fmt: skip
    with pytest.raises(ValueError, match="unknown sandbox dialect page_kap"):
        dialects.parse("page_kap")
    for env, expected in (('["page_404", "random_ids"]', {"page_404", "random_ids"}),
                          ("page_404,random_ids", {"page_404", "random_ids"}),
                          ("informational", {"informational"})):  # fmt: skip
        monkeypatch.setenv("PORTAL_SANDBOX_DIALECT", env)
        app = Flask(__name__)
        app.config.from_prefixed_env("PORTAL")
        assert dialects.parse(app.config["SANDBOX_DIALECT"]) == expected


def test_set_dialects_switches_a_running_sandbox(make_city):
    client = make_city()
    assert post(client).status_code == 200
    assert set_dialects(client.application, "created_201") == {"created_201"}
    assert post(client).status_code == 201
    set_dialects(client.application, None)
    assert post(client).status_code == 200


# --- one test per dialect --------------------------------------------------------


def test_created_201_answers_the_whole_request(make_city):
    client = make_city("created_201")
    answer = post(client)
    assert answer.status_code == 201
    [created] = answer.get_json()
    fetched = client.get(f"/open311/v2/requests/{created['service_request_id']}.json")
    assert [created] == fetched.get_json()
    assert created["description"] == "Alley is dark" and created["status"] == "open"


WORDS = "a location is required: lat and long, or address_string"


@pytest.mark.parametrize(
    "name, body",
    [
        ("error_object", {"code": 400, "detail": WORDS}),
        ("error_detail_list", {"code": 400, "detail": [WORDS]}),
        ("error_detail", {"detail": WORDS}),
        ("error_string", WORDS),
    ],
)
def test_error_bodies_take_the_dialect_shape(make_city, name, body):
    client = make_city(name)
    for fmt in ("json", "xml"):
        answer = post(client, fmt, lat="", long="")
        assert answer.status_code == 400 and answer.get_json() == body


def test_error_html_is_a_page_with_the_words(make_city):
    client = make_city("error_html", "bad_key_400")
    answer = post(client, lat="", long="")
    assert answer.status_code == 400 and answer.mimetype == "text/html"
    page = answer.get_data(as_text=True)
    assert f"<h1>{WORDS}</h1>" in page and f"<title>400 {WORDS}</title>" in page


def test_several_error_shapes_take_turns_and_keep_the_status(make_city):
    client = make_city("error_object", "error_string", "error_html")
    answers = [post(client, api_key="wrong") for _ in range(4)]
    assert [a.status_code for a in answers] == [403] * 4
    assert answers[0].get_json() == {"code": 403, "detail": "Invalid api_key received"}
    assert answers[1].get_json() == "Invalid api_key received"
    assert "<h1>Invalid api_key received</h1>" in answers[2].get_data(as_text=True)
    assert answers[3].get_json() == answers[0].get_json()


def test_definition_404_for_services_with_metadata(make_city):
    client = make_city("definition_404")
    answer = client.get("/open311/v2/services/SBX-SD.json")
    assert answer.status_code == 404 and answer.get_json() == {"detail": "Not found."}
    assert client.get("/open311/v2/services/SBX-ALO.json").status_code == 200
    # Unable to read what is required, a client posts without attributes.
    assert post(client, service_code="SBX-SD").status_code == 200


def test_page_404_past_the_last_page(make_city):
    client = make_city("page_404", seeded=3)
    assert len(listing(client, page_size=2, page=2).get_json()) == 1
    past = listing(client, page_size=2, page=3)
    assert past.status_code == 404 and past.get_json() == {"detail": "Invalid page."}
    assert listing(client, status="open", service_code="NONE").get_json() == []
    set_dialects(client.application, [])
    assert listing(client, page_size=2, page=3).get_json() == []


def test_page_cap_cuts_page_size_to_500(make_city):
    client = make_city("page_cap", seeded=620)
    pages = [listing(client, page_size=1000, page=n).get_json() for n in (1, 2, 3)]
    assert [len(page) for page in pages] == [500, 120, 0]
    assert len(listing(client, page_size=5000).get_json()) == 500
    set_dialects(client.application, [])
    assert len(listing(client, page_size=1000).get_json()) == 620


def test_requests_root_and_namespaced_root(make_city):
    client = make_city("requests_root")
    first_id(client)
    root = ET.fromstring(listing(client, "xml").data)
    assert root.tag == "requests" and [child.tag for child in root] == ["request"]
    assert ET.fromstring(post(client, "xml").data).tag == "requests"
    assert ET.fromstring(client.get("/open311/v2/services.xml").data).tag == "services"
    set_dialects(client.application, ["requests_root", "namespaced_root"])
    root = ET.fromstring(listing(client, "xml").data)
    assert root.tag == NS + "requests" and root[0].tag == NS + "request"
    services = ET.fromstring(client.get("/open311/v2/services.xml").data)
    assert services.tag == NS + "services"
    empty = ET.fromstring(listing(client, "xml", service_code="NONE").data)
    assert empty.tag == NS + "requests" and len(empty) == 0


def test_empty_string_null(make_city):
    client = make_city("empty_string_null")
    first_id(client)
    [view] = listing(client).get_json()
    assert view["expected_datetime"] == "" and view["media_url"] == ""
    assert None not in view.values()
    assert post(client).get_json()[0]["account_id"] == ""


def test_offset_microseconds_is_the_same_instant(make_city):
    client = make_city()
    first_id(client)
    [plain] = listing(client).get_json()
    set_dialects(client.application, ["offset_microseconds"])
    [shifted] = listing(client).get_json()
    for key in ("requested_datetime", "updated_datetime"):
        assert re.fullmatch(r".+T\d\d:\d\d:\d\d\.\d{6}\+02:00", shifted[key])
        instant = datetime.fromisoformat
        assert instant(shifted[key]) == instant(plain[key])


def test_address_field_replaces_address_string(make_city):
    client = make_city("address_field")
    only_string = {"lat": "", "long": "", "address_string": "1 Market St"}
    crashed = post(client, **only_string)
    assert crashed.status_code == 500 and crashed.is_json
    assert post(client, "xml", **only_string).mimetype == "text/html"
    request_id = first_id(client, lat="", long="", address="1400 John F Kennedy Blvd")
    view = client.get(f"/open311/v2/requests/{request_id}.json").get_json()[0]
    assert view["address"] == "1400 John F Kennedy Blvd"
    assert post(client, address_string="ignored").status_code == 200
    addresses = {view["address"] for view in listing(client).get_json()}
    assert addresses == {"1400 John F Kennedy Blvd", None}


def test_hidden_until_published(make_city):
    client = make_city("hidden_until_published", delay=0)
    request_id = first_id(client)
    token = post(client, service_code="SBX-AV").get_json()[0]["token"]
    assert client.get(f"/open311/v2/requests/{request_id}.json").status_code == 404
    assert client.get(f"/open311/v2/tokens/{token}.json").status_code == 404
    assert listing(client).get_json() == []
    assert city.publish_all(store_of(client)) == 2
    assert client.get(f"/open311/v2/requests/{request_id}.json").status_code == 200
    assert client.get(f"/open311/v2/tokens/{token}.json").get_json()[0]["token"]
    assert len(listing(client).get_json()) == 2
    # tick() publishes too, and a published request counts as just updated.
    later = first_id(client)
    done = city.tick(store_of(client), random.Random(1), share=0)
    assert done["published"] == 1
    [view] = client.get(f"/open311/v2/requests/{later}.json").get_json()
    assert view["updated_datetime"] > view["requested_datetime"]


def test_seeclickfix_numbers_its_services(make_city):
    assert sorted(SEECLICKFIX_CODES) == sorted(entry[0] for entry in SERVICES)
    assert len(set(SEECLICKFIX_CODES.values())) == len(SERVICES)
    client = make_city("seeclickfix")
    services = client.get("/open311/v2/services.json").get_json()
    assert all(isinstance(s["service_code"], int) for s in services)
    assert all("organization" in s and "group" not in s for s in services)
    number = SEECLICKFIX_CODES["SBX-ALO"]
    first_id(client, service_code=str(number))
    first_id(client)  # the catalog's own code is still accepted
    assert [v["service_code"] for v in listing(client).get_json()] == [number] * 2
    assert len(listing(client, service_code=str(number)).get_json()) == 2
    definition = client.get(f"/open311/v2/services/{SEECLICKFIX_CODES['SBX-SD']}.json")
    assert definition.get_json()["service_code"] == SEECLICKFIX_CODES["SBX-SD"]


def test_chicago_notes_with_extensions(make_city):
    client = make_city("chicago_notes", seeded=40)
    assert "notes" not in listing(client).get_json()[0]
    views = listing(client, extensions="true").get_json()
    assert all(v["notes"][0]["type"] == "opened" for v in views)
    closed = [v for v in views if v["status"] == "closed"]
    assert closed and all(v["notes"][-1]["type"] == "closed" for v in closed)
    assert {v["extended_attributes"]["channel"] for v in views} <= {
        "phone", "web", "mobile", "open311"}  # fmt: skip


def test_always_token_even_for_realtime_services(make_city):
    client = make_city("always_token", delay=60)
    [receipt] = post(client).get_json()
    assert set(receipt) == {"token"}
    answer = client.get(f"/open311/v2/tokens/{receipt['token']}.json").get_json()
    assert answer[0]["service_request_id"] is None
    at = city.now() + timedelta(seconds=61)
    assert city.resolve_due_tokens(store_of(client), at=at) == 1
    answer = client.get(f"/open311/v2/tokens/{receipt['token']}.json").get_json()
    assert answer[0]["service_request_id"]


def test_random_ids(make_city):
    client = make_city("random_ids", seeded=50)
    ids = [str(v["service_request_id"]) for v in listing(client).get_json()]
    request_id = first_id(client)
    assert all(re.fullmatch(r"[a-z0-9]{8}", i) for i in [*ids, request_id])
    assert len(set(ids)) == 50 and not any(i.isdigit() for i in ids)
    [view] = client.get(f"/open311/v2/requests/{request_id}.json").get_json()
    assert view["service_request_id"] == request_id
    chosen = listing(client, service_request_id=f"{ids[3]},{ids[7]}").get_json()
    assert {v["service_request_id"] for v in chosen} == {ids[3], ids[7]}
    # The stored number behind an id is no way in.
    assert client.get("/open311/v2/requests/100051.json").status_code == 404


def test_numeric_ids(make_city):
    client = make_city("numeric_ids")
    [receipt] = post(client).get_json()
    assert isinstance(receipt["service_request_id"], int)
    [view] = listing(client).get_json()
    assert view["service_request_id"] == receipt["service_request_id"]
    token = post(client, service_code="SBX-AV").get_json()[0]["token"]
    answer = client.get(f"/open311/v2/tokens/{token}.json").get_json()
    assert isinstance(answer[0]["service_request_id"], int)


def test_capitalised_status(make_city):
    client = make_city("capitalised_status", seeded=30)
    assert {v["status"] for v in listing(client).get_json()} == {"Open", "Closed"}
    assert {v["status"] for v in listing(client, status="open").get_json()} == {"Open"}


def test_bad_key_400(make_city):
    client = make_city("bad_key_400")
    answer = post(client, api_key="wrong")
    assert answer.status_code == 400
    assert answer.get_json() == [
        {"code": 400, "description": "Invalid api_key received"}
    ]


def test_informational_attributes_and_dependencies(make_city):
    client = make_city("informational")
    attributes = client.get("/open311/v2/services/SBX-GR.json").get_json()["attributes"]
    floor = next(a for a in attributes if a["code"] == "FLOOR")
    assert floor["dependencies"] == {"clause": "AND", "conditions": [
        {"attribute": "RAIL", "op": "eq", "value": "no"}]}  # fmt: skip
    notice = attributes[-1]
    assert notice["datatype"] == "informational" and notice["variable"] is False
    assert notice["order"] == len(attributes)
    rail = {"attribute[RAIL]": "no"}  # the notice is no answer a POST must give
    assert post(client, service_code="SBX-GR", **rail).status_code == 200


def test_pending_records_list_neither_id_nor_token(make_city):
    client = make_city("pending_records", delay=60)
    [receipt] = post(client, service_code="SBX-AV").get_json()
    assert receipt["token"]
    [pending] = listing(client).get_json()
    assert pending["service_request_id"] is None and pending["token"] is None


def test_no_discovery_no_definitions(make_city):
    client = make_city("no_discovery", "no_definitions")
    assert client.get("/open311/v2/discovery.json").status_code == 404
    services = client.get("/open311/v2/services.json").get_json()
    assert not any(s["metadata"] for s in services)
    assert client.get("/open311/v2/services/SBX-SD.json").status_code == 404
    assert post(client, service_code="SBX-SD").status_code == 200


def test_no_tokens(make_city):
    client = make_city("no_tokens", delay=60)
    [receipt] = post(client, service_code="SBX-AV").get_json()
    assert receipt["service_request_id"] and "token" not in receipt
    assert client.get("/open311/v2/tokens/abc.json").status_code == 404
    # Chicago's tokens outrank it: a server that always answers one must resolve it.
    set_dialects(client.application, ["no_tokens", "always_token"])
    token = post(client).get_json()[0]["token"]
    assert client.get(f"/open311/v2/tokens/{token}.json").status_code == 200


def test_ignore_attributes(make_city):
    client = make_city("ignore_attributes")
    request_id = first_id(client, service_code="SBX-SD", **{"attribute[GAS]": "bogus"})
    assert request_id
    with store_of(client).session() as session:
        assert session.get(city.CityRequest, 1).attributes == {}


# --- a tolerant client reaches every request exactly once ------------------------


def _blank(value):
    return None if value in (None, "") else str(value)


def reach_everything(client, posts: int, page_size: int = 3) -> None:
    """Post like a tolerant client, then page through and find each post once."""
    services = client.get("/open311/v2/services.json").get_json()
    codes = {s["service_name"]: s["service_code"] for s in services}
    code = codes["Alley Light Outage"]
    ids, tokens = [], []
    for n in range(posts):
        # Both address fields: a server reads one of them (address_field).
        form = {"service_code": code, "description": f"alley {n}"}
        answer = post(client, address="1 Vine St", **form)
        assert answer.status_code in (200, 201)
        [item] = answer.get_json()
        if _blank(item.get("service_request_id")):
            ids.append(_blank(item["service_request_id"]))
        else:
            tokens.append(item["token"])
    city.tick(store_of(client), random.Random(1), share=0)  # staff publish; ids come
    for token in tokens:
        [item] = client.get(f"/open311/v2/tokens/{token}.json").get_json()
        ids.append(_blank(item["service_request_id"]))
    for request_id in ids:
        one = client.get(f"/open311/v2/requests/{request_id}.json").get_json()
        assert _blank(one[0]["service_request_id"]) == request_id
    seen, page, since = [], 1, "2000-01-01T00:00:00Z"
    while True:
        answer = listing(client, page_size=page_size, page=page, updated_after=since)
        if answer.status_code == 404 or not answer.get_json():
            break
        seen += [_blank(v["service_request_id"]) for v in answer.get_json()]
        page += 1
    assert sorted(i for i in seen if i in ids) == sorted(ids) and len(set(ids)) == posts


@pytest.mark.parametrize("name", ALL)
def test_each_dialect_alone_lets_a_client_reach_every_request(make_city, name):
    reach_everything(make_city(name), posts=4)


def test_all_dialects_at_once(make_city):
    client = make_city(*ALL, seeded=520)
    reach_everything(client, posts=5, page_size=40)
    # Paging still ends: page_size capped at 500, then "Invalid page." past the end.
    pages = [listing(client, page_size=1000, page=n).get_json() for n in (1, 2, 3)]
    assert [len(pages[0]), len(pages[1])] == [500, 25]
    assert pages[2] == {"detail": "Invalid page."}
    root = ET.fromstring(listing(client, "xml", page_size=2).data)
    assert root.tag == NS + "requests" and len(root) == 2
    assert post(client, api_key="wrong").status_code == 400
