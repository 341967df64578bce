"""What a signed-in person sees, and any response setting or clearing the session
cookie, is never stored by a cache; public answers keep their own caching."""

from portal.auth.services import create_token
from tests.conftest import csrf_token


def no_store(response) -> bool:
    header = response.headers.get("Cache-Control", "")
    directives = {d.strip() for d in header.split(",")}
    return {"no-store", "private"} <= directives and "public" not in directives


def test_signed_in_pages_are_not_stored(client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    assert no_store(client.get("/auth/profile"))
    assert no_store(client.get("/"))
    created = client.post(
        "/auth/tokens",
        data={"name": "script", "csrf_token": csrf_token(client, "/auth/profile")},
    )
    assert created.status_code == 201 and no_store(created)  # shows the token once
    assert no_store(client.get("/api/v1/me"))


def test_token_answers_are_not_stored(app, make_user):
    _token, secret = create_token(make_user(), "script")
    answer = app.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert answer.status_code == 200 and no_store(answer)


def test_responses_setting_or_clearing_the_cookie_are_not_stored(
    client, auth, make_user
):
    user = make_user()
    first = client.get("/auth/login")  # the CSRF token starts the session
    assert "portal_session=" in first.headers["Set-Cookie"] and no_store(first)
    signed_in = auth.login(user.email)
    assert "portal_session=" in signed_in.headers["Set-Cookie"]
    assert no_store(signed_in)
    signed_out = auth.logout()
    assert "portal_session=" in signed_out.headers["Set-Cookie"]
    assert no_store(signed_out)


def test_public_answers_keep_their_caching(client, auth, make_user):
    anonymous = client.get("/api/v1/tickets?bbox=-75.3,39.8,-74.9,40.2&zoom=10")
    assert anonymous.headers["Cache-Control"] == "public, no-cache"
    assert anonymous.headers["ETag"]
    again = client.get(
        "/api/v1/tickets?bbox=-75.3,39.8,-74.9,40.2&zoom=10",
        headers={"If-None-Match": anonymous.headers["ETag"]},
    )
    assert again.status_code == 304
    user = make_user()
    auth.login(user.email)
    static = client.get("/static/favicon.svg")
    static.close()
    assert static.status_code == 200
    assert "no-store" not in static.headers.get("Cache-Control", "")
    # The same for everyone (made without asking who is there): cached as before.
    shared = client.get("/api/v1/tickets?bbox=-75.3,39.8,-74.9,40.2&zoom=10")
    assert shared.headers["Cache-Control"] == "public, no-cache"
