"""Schemathesis fuzzes every operation of the OpenAPI document (/api/v1/openapi.json)
against a live portal, as nobody, a resident and an admin: no 5xx, and every answer
as documented (status code, content type, headers, body schema), by Schemathesis' own
checks.

Bounded and reproducible: ``MAX_EXAMPLES`` cases per operation and actor, drawn in
Schemathesis' positive and negative modes after the document's own examples,
derandomized, with no example database. Nobody's requests to an operation that needs
an account all meet the same door, so they stop after ``ANONYMOUS_BUDGET``.

Deeper, by hand: ``FUZZ_EXAMPLES=200 FUZZ_COVERAGE=1 pytest tests/fuzz`` (the
coverage phase adds Schemathesis' boundary and missing-field cases).
"""

import os
import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import checks

from portal import create_app
from tests.conftest import TEST_CONFIG
from tests.fuzz.conftest import FISHTOWN, KNOWN

pytestmark = pytest.mark.db

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
ANONYMOUS_BUDGET = 5

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def served_document() -> dict:
    """The document as the portal serves it (no database is touched for it)."""
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_client() as client:
        return client.get("/api/v1/openapi.json").get_json()


DOCUMENT = served_document()
NEEDS_ACCOUNT = {
    f"{method.upper()} {path}"
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
    if isinstance(operation, dict) and operation.get("security")
}

schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    config=schemathesis.Config.from_dict(
        {
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "phases": {
                "examples": {"enabled": True},
                "fuzzing": {"enabled": True},
                "coverage": {"enabled": os.environ.get("FUZZ_COVERAGE") == "1"},
                "stateful": {"enabled": False},
            },
            # Generation time is the machine's, not the portal's: a busy CI runner
            # must not fail the run.
            "suppress-health-check": ["too_slow"],
            "cache": {"enabled": False},
            "request-timeout": 30,
        }
    ),
)


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    # Often a row that exists: ids drawn up to 2**53 seldom name one.
    if not path_parameters:
        return st.just(path_parameters)
    draws = {}
    for name, value in path_parameters.items():
        known = KNOWN.get(name)
        if known and isinstance(value, int | str) and not isinstance(value, bool):
            draws[name] = st.sampled_from([value, *known])
        else:
            draws[name] = st.just(value)
    return st.fixed_dictionaries(draws)


# Values the document cannot say (a point inside a neighborhood, a service and its
# required answers, a date ahead, a slug that exists): by operation, patches of which
# a case takes one, or none; the other fields stay as generated. ``DROP`` removes one.
DROP = "<drop>"


def _soon(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def body_patches(label: str) -> list[dict]:
    here = {"lat": FISHTOWN[0], "lon": FISHTOWN[1]}
    row = {"service_code": "SBX-DV", "description": "Overflowing", **here}
    return {
        "POST /api/v1/tickets": [
            {"service_code": "SBX-SD", "attributes": {"GAS": "no", "WATER": "no"}}
            | here
            | {"address": DROP, "device_lat": DROP, "device_lon": DROP},
            {"service_code": "SBX-DV", "attributes": {}, "not_duplicate": True}
            | {"lat": FISHTOWN[0] + 0.003, "lon": FISHTOWN[1] - 0.003},
            {"service_code": "SBX-BIKE", "attributes": {}, "address": "1200 Girard Ave"}
            | {"lat": DROP, "lon": DROP},
        ],
        "POST /api/v1/events": [
            {"starts_at": _soon(3), "ends_at": _soon(3.1), "tickets": DROP} | here,
            {"starts_at": _soon(5), "ends_at": _soon(5.1), "place": "Palmer Park"}
            | {"lat": DROP, "lon": DROP, "tickets": KNOWN.get("ticket_id", [])[:1]},
        ],
        "POST /api/v1/meetings": [{"area": "fishtown", "starts_at": _soon(7)}],
        "POST /api/v1/batches": [
            {"rows": [row]},
            {"rows": [row, {**row, "lat": 0, "service_code": "SBX-SD"}]},
        ],
        "POST /api/v1/threads/{thread_id}/posts": [
            {"quote": KNOWN.get("post_id", [None])[0]}
        ],
        "POST /api/v1/moderation/threads/{thread_id}": [{"area": "kensington"}],
        "POST /api/v1/moderation/users/{user_id}": [{"until": _soon(1)}],
        "POST /api/v1/events/{event_id}/rsvp": [{"going": True}, {"going": False}],
    }.get(label, [])


def query_patches(label: str) -> list[dict]:
    return {
        "GET /api/v1/tickets": [
            {"bbox": "-75.20,39.90,-75.10,40.00", "near": DROP},
            {"near": f"{FISHTOWN[0]},{FISHTOWN[1]}", "bbox": DROP},
            {"bbox": "-75.14,39.96,-75.12,39.98", "near": DROP, "zoom": 12},
        ],
        "GET /api/v1/events": [{"area": "fishtown"}],
        "POST /api/v1/batches": [{"meeting": KNOWN.get("meeting_id", [1])[0]}],
        "GET /api/v1/areas/locate": [{"lat": FISHTOWN[0], "lon": FISHTOWN[1]}],
    }.get(label, [])


# What the portal refuses in any text (C0 controls but tab and newlines, DEL, lone
# surrogates) although the document's strings allow it: half the cases go without.
UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def storable(value):
    if isinstance(value, str):
        return UNSTORABLE.sub("", value)
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [storable(item) for item in value]
    return value


def patched(value, patches: list[dict]):
    """Draw the generated value as it is or without unstorable text, then one of the
    patches or none."""
    if not (value is None or isinstance(value, dict | list | str)):
        return st.just(value)

    def apply(clean, patch):
        result = storable(value) if clean else value
        if patch is None or not (result is None or isinstance(result, dict)):
            return result
        merged = {**(result or {}), **patch}
        return {key: item for key, item in merged.items() if item != DROP}

    return st.tuples(st.booleans(), st.sampled_from([None, *patches])).map(
        lambda drawn: apply(*drawn)
    )


@schema.hook
def flatmap_body(context, body):
    return patched(body, body_patches(context.operation.label))


@schema.hook
def flatmap_query(context, query):
    return patched(query, query_patches(context.operation.label))


def spare_own_credentials(case, portal) -> None:
    """The actor's own token and account stay usable for the rest of the run."""
    params = case.path_parameters or {}
    if case.path == "/api/v1/me/tokens/{token_id}":
        if params.get("token_id") == portal.own_token_id:
            params["token_id"] = KNOWN["token_id"][0]
    if case.path == "/api/v1/moderation/users/{user_id}":
        if params.get("user_id") == portal.own_user_id:
            params["user_id"] = KNOWN["user_id"][-1]


def server_log(portal, response) -> str:
    try:
        reference = response.json()["error"]["reference"]
    except (ValueError, KeyError, TypeError):
        reference = response.headers.get("X-Request-ID")
    logged = portal.errors.get(reference or "")
    return f"server log of request {reference}:\n{logged or '(nothing logged)'}"


def test_the_fuzzed_document_is_the_served_one(portal):
    assert requests.get(f"{portal.url}/api/v1/openapi.json").json() == DOCUMENT


# Operation -> the anonymous requests sent to it (a replayed case is sent again, so a
# failure replays the same way while Hypothesis shrinks it).
ANONYMOUS_SENT: dict[str, set] = defaultdict(set)


def worth_sending(case, portal) -> bool:
    label = case.operation.label
    if portal.actor != "anonymous" or label not in NEEDS_ACCOUNT:
        return True
    key = repr((case.path_parameters, case.query, case.body, case.headers))
    sent = ANONYMOUS_SENT[label]
    if key not in sent and len(sent) >= ANONYMOUS_BUDGET:
        return False
    sent.add(key)
    return True


@schema.parametrize()
def test_api(case, portal):
    if not worth_sending(case, portal):
        return
    spare_own_credentials(case, portal)
    response = case.call(base_url=portal.url, headers=portal.headers)
    try:
        case.validate_response(response, checks=CHECKS)
    except BaseException as failure:
        failure.add_note(f"as {portal.actor}")
        if response.status_code >= 500:
            failure.add_note(server_log(portal, response))
        raise
