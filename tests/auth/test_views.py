"""Account pages over HTTP: the happy paths and the bad input the issue lists."""

import statistics
import time

import pytest
from sqlalchemy import func, select

from portal.auth import services
from portal.auth.models import LoginSession, User
from portal.extensions import db
from tests.conftest import PASSWORD, AuthActions, csrf_token


def users():
    return db.session.scalar(select(func.count()).select_from(User))


def register(client, **fields):
    data = {
        "display_name": "Ana",
        "email": "ana@example.org",
        "password": PASSWORD,
        "home_area": "test-area",
        "csrf_token": csrf_token(client, "/auth/register"),
    }
    data.update(fields)
    return client.post("/auth/register", data=data)


def test_register_signs_in_and_goes_to_the_home_area(client, make_area):
    make_area()
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/areas/test-area"
    assert "Ana" in client.get("/").get_data(as_text=True)
    assert users() == 1


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"display_name": ""}, "display_name", "This field is required."),
        ({"email": ""}, "email", "This field is required."),
        ({"email": "ana@"}, "email", "Enter a valid email address"),
        ({"password": ""}, "password", "This field is required."),
        ({"password": "short"}, "password", "between 10 and 1,024"),
        ({"home_area": ""}, "home_area", "Choose your neighborhood."),
        ({"home_area": "atlantis"}, "home_area", "Not a valid choice"),
        ({"display_name": "x" * 500_000}, "display_name", "at most 80"),
    ],
)
def test_register_bad_fields_are_named_and_nothing_is_written(
    client, make_area, fields, field, message
):
    make_area()
    response = register(client, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in page
    assert message in page
    assert 'aria-invalid="true"' in page
    assert users() == 0


def test_a_ten_megabyte_field_is_named_not_crashed(client, make_area):
    make_area()
    response = register(client, display_name="x" * (10 * 1024 * 1024))
    assert response.status_code == 400
    assert 'id="display_name-error"' in response.get_data(as_text=True)
    assert users() == 0


def test_a_body_over_the_request_limit_is_413(client, make_area):
    make_area()
    response = register(client, display_name="x" * (33 * 1024 * 1024))
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert users() == 0


def test_without_mail_a_taken_email_is_named(client, make_area, make_user):
    """The demo signs a new account in at once, so nothing could hide that an address
    is taken (see test_signup.py for the portal with mail)."""
    make_area()
    make_user(email="ana@example.org")
    response = register(client, email="ANA@example.org")
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)
    assert users() == 1


def test_missing_csrf_token_is_refused(client, make_area):
    make_area()
    response = client.post(
        "/auth/register",
        data={"display_name": "A", "email": "a@example.org", "password": PASSWORD},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "security token" in page and "csrf_token" in page
    assert users() == 0


def test_login_logout_and_replayed_cookie_is_refused(client, auth, make_user):
    user = make_user()
    response = auth.login(user.email)
    assert response.status_code == 302
    cookie = client.get_cookie("portal_session").value
    assert client.get("/auth/profile").status_code == 200
    auth.logout()
    assert client.get("/auth/profile").status_code == 302
    # Replaying the signed-in cookie after logout gets nowhere: its session row is gone.
    client.set_cookie("portal_session", cookie)
    response = client.get("/auth/profile")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_login_issues_a_fresh_session(client, auth, make_user):
    user = make_user()
    client.get("/auth/login")
    before = client.get_cookie("portal_session").value
    auth.login(user.email)
    after = client.get_cookie("portal_session").value
    assert before != after
    auth.login(user.email)
    assert db.session.scalar(select(func.count()).select_from(LoginSession)) == 2


def test_unknown_email_and_wrong_password_look_the_same(client, auth, make_user):
    user = make_user()
    unknown = auth.login("nobody@example.org", "whatever-password")
    wrong = auth.login(user.email, "whatever-password")
    assert unknown.status_code == wrong.status_code == 400

    def strip(page):  # the CSRF token and echoed email differ by design
        page = page.replace("nobody@example.org", "").replace(user.email, "")
        return "".join(line for line in page.splitlines() if "csrf_token" not in line)

    assert strip(unknown.get_data(as_text=True)) == strip(wrong.get_data(as_text=True))


def test_unknown_email_and_wrong_password_take_similar_time(app, make_user):
    from portal.errors import AuthenticationFailed

    app.config["PASSWORD_HASH_METHOD"] = (
        "pbkdf2:sha256:200000"  # long enough to measure
    )
    user = make_user()

    def timed(email):
        start = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            services.authenticate(email, "whatever-password")
        return time.perf_counter() - start

    timed("warm@example.org")
    unknown = statistics.median(timed("nobody@example.org") for _ in range(5))
    wrong = statistics.median(timed(user.email) for _ in range(5))
    # Without the dummy hash the unknown email would answer many times faster.
    assert 0.3 < unknown / wrong < 3


def test_login_rate_limit_per_account(make_app, make_user):
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="3 per 10 minutes")
    with app.app_context():
        client = app.test_client()
        user = make_user()
        statuses = []
        for _ in range(4):
            token = csrf_token(client)
            response = client.post(
                "/auth/login",
                data={
                    "email": user.email,
                    "password": "wrong password!",
                    "csrf_token": token,
                },
            )
            statuses.append(response.status_code)
        assert statuses == [400, 400, 400, 429]
        page = response.get_data(as_text=True)
        assert "Too many sign-in attempts for this account" in page
        assert int(response.headers["Retry-After"]) > 0
        # Even the right password is refused while the account is cooling down.
        token = csrf_token(client)
        right = client.post(
            "/auth/login",
            data={"email": user.email, "password": PASSWORD, "csrf_token": token},
        )
        assert right.status_code == 429


def test_login_rate_limit_per_address_spans_accounts(make_app):
    app = make_app(LOGIN_LIMIT_PER_ADDRESS="3 per 10 minutes")
    with app.app_context():
        client = app.test_client()
        statuses = []
        for n in range(4):
            token = csrf_token(client)
            statuses.append(
                client.post(
                    "/auth/login",
                    data={
                        "email": f"u{n}@example.org",
                        "password": "x" * 12,
                        "csrf_token": token,
                    },
                ).status_code
            )
        assert statuses == [400, 400, 400, 429]


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/%0d%0aSet-Cookie:x=y",
        "/\r\nSet-Cookie: x=y",
        "javascript:alert(1)",
        "\\\\evil.example",
        "http:/evil.example",
    ],
)
def test_open_redirects_are_ignored(client, auth, make_user, target):
    user = make_user()
    response = auth.login(user.email, next_url=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location in ("/", "/%0d%0aSet-Cookie:x=y") or location.startswith("/")
    assert "evil" not in location and "\r" not in location and "\n" not in location
    assert "x=y" not in response.headers.get("Set-Cookie", "")


def test_a_safe_next_is_followed(client, auth, make_user):
    user = make_user()
    response = auth.login(user.email, next_url="/auth/profile?tab=tokens")
    assert response.headers["Location"] == "/auth/profile?tab=tokens"


def test_protected_page_sends_to_login_with_next(client):
    response = client.get("/auth/profile")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/auth/profile"


def test_change_password_page(client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    token = csrf_token(client, "/auth/profile")
    bad = client.post(
        "/auth/password",
        data={
            "current_password": "nope nope nope",
            "new_password": "another long one",
            "csrf_token": token,
        },
    )
    assert bad.status_code == 400
    assert "current password is not right" in bad.get_data(as_text=True)
    good = client.post(
        "/auth/password",
        data={
            "current_password": PASSWORD,
            "new_password": "another long one",
            "csrf_token": token,
        },
    )
    assert good.status_code == 302
    auth.logout()
    assert auth.login(user.email, "another long one").status_code == 302


def test_guessing_the_current_password_is_limited_per_account(make_app, make_user):
    """The password form answers whether a password is right, as sign-in does: the
    same budget of wrong guesses per account (a stolen session cannot try more)."""
    app = make_app(LOGIN_LIMIT_PER_ACCOUNT="2 per 10 minutes")
    with app.app_context():
        client = app.test_client()
        user = make_user()
        AuthActions(client).login(user.email)

        def change(current, new="another long one"):
            token = csrf_token(client, "/auth/profile")
            return client.post(
                "/auth/password",
                data={
                    "current_password": current,
                    "new_password": new,
                    "csrf_token": token,
                },
            )

        assert change(PASSWORD, "short").status_code == 400  # not a guess: not counted
        assert [
            change("wrong guess 1").status_code,
            change("wrong guess 2").status_code,
        ] == [400, 400]
        over = change(PASSWORD)
        assert over.status_code == 429
        assert "Too many attempts for this account" in over.get_data(as_text=True)
        assert services.authenticate(user.email, PASSWORD) == user  # unchanged


def test_tokens_created_shown_once_and_revoked_on_the_profile(client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    token = csrf_token(client, "/auth/profile")
    created = client.post(
        "/auth/tokens", data={"name": "my script", "csrf_token": token}
    )
    assert created.status_code == 201
    page = created.get_data(as_text=True)
    secret = page.split('<code id="new-token">')[1].split("</code>")[0]
    assert secret.startswith("np_")
    profile = client.get("/auth/profile").get_data(as_text=True)
    assert "my script" in profile and secret not in profile
    api = client.application.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get("/api/v1/me", headers=headers).status_code == 200
    token_id = services.list_tokens(user)[0].id
    client.post(f"/auth/tokens/{token_id}/revoke", data={"csrf_token": token})
    refused = api.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401
    assert refused.json["error"]["fields"] == {
        "Authorization": refused.json["error"]["message"]
    }


def test_invalid_utf8_in_a_form_is_not_a_crash(client, make_area):
    make_area()
    token = csrf_token(client, "/auth/register")
    body = (
        "display_name=%ED%A0%80%FF&email=a%40example.org&password=correct+horse+battery"
        f"&home_area=test-area&csrf_token={token}"
    )
    response = client.post(
        "/auth/register",
        data=body.encode("ascii"),
        content_type="application/x-www-form-urlencoded",
    )
    # Werkzeug leaves undecodable bytes percent-encoded: storable text, no surrogates.
    assert response.status_code == 302
    name = db.session.scalar(select(User.display_name))
    assert name == "%ED%A0%80%FF"
    name.encode("utf-8")
