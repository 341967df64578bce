"""JSON API v1: the OpenAPI document, error format, auth schemes, hostile bodies."""

import json

import pytest

from portal.auth import services
from tests.conftest import csrf_token


@pytest.fixture
def token(make_user):
    user = make_user()
    _token, secret = services.create_token(user, "tests")
    return user, secret


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


def test_openapi_document_matches_the_routes(client, app):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {
        (path, method.upper())
        for path, operations in spec["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    served = set()
    for rule in app.url_map.iter_rules():
        if (
            rule.rule.startswith("/api/v1/")
            and rule.endpoint != "api-docs.openapi_json"
        ):
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            served |= {(path, m) for m in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == served
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert schemes["sessionCookie"]["name"] == "portal_session"
    error = spec["components"]["schemas"]["Error"]["properties"]["error"]
    assert error["$ref"].endswith("/ErrorBody")
    assert set(spec["components"]["schemas"]["ErrorBody"]["properties"]) == {
        "code",
        "message",
        "fields",
        "reference",
    }


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"
    assert response.json["error"]["message"]


def test_wrong_method_is_json_405(client):
    response = client.delete("/api/v1/areas")
    assert response.status_code == 405
    assert response.json["error"]["code"] == "method_not_allowed"


def test_me_needs_authentication(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_bearer_token_authenticates(client, token):
    user, secret = token
    body = client.get("/api/v1/me", headers=bearer(secret)).json
    assert body["email"] == user.email
    assert body["roles"] == [{"role": "resident", "area": None}]


def test_scoped_roles_show_in_me(client, make_user, make_area):
    area = make_area("Old City")
    user = make_user(role="captain", area=area)
    _t, secret = services.create_token(user, "x")
    roles = client.get("/api/v1/me", headers=bearer(secret)).json["roles"]
    assert {"role": "captain", "area": "old-city"} in roles


def test_invalid_bearer_is_refused_even_where_anonymous_is_fine(client):
    response = client.get("/api/v1/areas", headers=bearer("np_forged"))
    assert response.status_code == 401
    assert "Authorization" in response.json["error"]["fields"]


def test_token_write_with_bearer_needs_no_csrf(client, token):
    _user, secret = token
    response = client.post(
        "/api/v1/me/tokens", json={"name": "cron"}, headers=bearer(secret)
    )
    assert response.status_code == 201
    assert response.json["token"].startswith("np_")
    listed = client.get("/api/v1/me/tokens", headers=bearer(secret)).json
    assert {t["name"] for t in listed} == {"tests", "cron"}
    assert all("token" not in t for t in listed)
    gone = client.delete(
        f"/api/v1/me/tokens/{response.json['id']}", headers=bearer(secret)
    )
    assert gone.status_code == 204
    again = client.delete(
        f"/api/v1/me/tokens/{response.json['id']}", headers=bearer(secret)
    )
    assert again.status_code == 404 and again.json["error"]["fields"] == {
        "token": again.json["error"]["message"]
    }


def test_cookie_session_writes_need_the_csrf_header(client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    refused = client.post("/api/v1/me/tokens", json={"name": "x"})
    assert refused.status_code == 400
    assert "csrf_token" in refused.json["error"]["fields"]
    token = csrf_token(client, "/auth/profile")
    accepted = client.post(
        "/api/v1/me/tokens", json={"name": "x"}, headers={"X-CSRFToken": token}
    )
    assert accepted.status_code == 201


@pytest.mark.parametrize(
    "path, body",
    [("/api/v1/me/tokens", {"name": "x"}), ("/api/v1/tickets/1/follow", {})],
)
def test_a_write_with_no_credentials_at_all_is_401_not_a_csrf_error(client, path, body):
    answer = client.post(path, json=body)
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 81}, "name"),
        ({"name": 12}, "name"),
        ({"name": "ok", "extra": 1}, "extra"),
    ],
)
def test_bad_fields_are_named(client, token, body, field):
    _user, secret = token
    response = client.post("/api/v1/me/tokens", json=body, headers=bearer(secret))
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert len(services.list_tokens(_user)) == 1


def test_lone_surrogates_are_refused_by_field(client, token):
    user, secret = token
    raw = '{"name": "bad \\ud800 text"}'
    response = client.post(
        "/api/v1/me/tokens",
        data=raw,
        headers={**bearer(secret), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "name": "Contains characters that are not valid text."
    }
    assert len(services.list_tokens(user)) == 1


def test_json_nested_100000_deep_is_400(client, token):
    user, secret = token
    raw = "[" * 100_000 + "]" * 100_000
    response = client.post(
        "/api/v1/me/tokens",
        data=raw,
        headers={**bearer(secret), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {
        "body": response.json["error"]["message"]
    }
    assert len(services.list_tokens(user)) == 1


def test_malformed_json_is_400(client, token):
    _user, secret = token
    response = client.post(
        "/api/v1/me/tokens",
        data='{"name": ',
        headers={**bearer(secret), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"


def test_oversized_body_is_json_413(client, token):
    _user, secret = token
    response = client.post(
        "/api/v1/me/tokens",
        data=json.dumps({"name": "x" * (33 * 1024 * 1024)}),
        headers={**bearer(secret), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json["error"]["code"] == "request_entity_too_large"


def test_unexpected_errors_are_500_json_without_details(make_app):
    app = make_app()

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    assert response.json["error"]["code"] == "internal_error"
    assert "secret internals" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "kwargs", "field"),
    [
        ("/map/list?q=a%00b", {}, "q"),
        ("/auth/login", {"data": {"email": "a\x00@b.org", "password": "x"}}, "email"),
        ("/api/v1/me/tokens", {"json": {"name": "x\x00y"}}, "name"),
        ("/api/v1/me/tokens", {"json": {"list": [{"deep": "\x00"}]}}, "list.0.deep"),
    ],
)
def test_nul_characters_are_refused_naming_the_field(client, path, kwargs, field):
    method = client.post if kwargs else client.get
    answer = method(path, **kwargs)
    assert answer.status_code == 422
    if answer.is_json:
        assert field in answer.get_json()["error"]["fields"]
