"""With mail, sign-up and password reset never tell whether an address has an
account: the same page, status and work, one email each; the account is made (or the
password changed) behind the emailed link."""

import statistics
import time

import pytest
from sqlalchemy import func, select

from portal.auth import links, services
from portal.auth.models import User
from portal.extensions import db, mail
from tests.auth.inbox import link as mailed_link
from tests.conftest import CSRF_RE, PASSWORD, csrf_token
from tests.mailbox import free_port


@pytest.fixture
def app_overrides():
    return {"REGISTER_LIMIT_PER_ADDRESS": "1000 per hour"}


def users() -> int:
    return db.session.scalar(select(func.count()).select_from(User))


def register(client, email, **fields):
    data = {
        "display_name": "Ana",
        "email": email,
        "home_area": "test-area",
        "csrf_token": csrf_token(client, "/auth/register"),
        **fields,
    }
    return client.post("/auth/register", data=data)


def same_page(one, other, *echoed) -> None:
    """Equal pages once the echoed addresses and the CSRF tokens are taken out."""

    def strip(response):
        page = response.get_data(as_text=True)
        for text in echoed:
            page = page.replace(text, "")
        return CSRF_RE.sub("", page)

    assert one.status_code == other.status_code
    assert strip(one) == strip(other)


@pytest.fixture
def taken(make_area, make_user):
    make_area()
    return make_user(email="old@example.org", name="Olga")


def test_a_new_and_a_taken_address_get_the_same_answer(client, mail_on, taken):
    form = client.get("/auth/register").get_data(as_text=True)
    assert 'name="password"' not in form  # chosen behind the emailed link
    fresh = register(client, "new@example.org")
    again = register(client, "OLD@example.org")
    assert fresh.status_code == 200
    same_page(fresh, again, "new@example.org", "old@example.org")
    assert ("Set-Cookie" in fresh.headers) == ("Set-Cookie" in again.headers)
    page = again.get_data(as_text=True)
    assert "Check your inbox" in page and "already" not in page
    assert users() == 1  # nothing is made before the link is followed
    [to_new] = mail_on.to("new@example.org")
    assert "https://portal.example.org/auth/register/" in to_new
    [to_owner] = mail_on.to("old@example.org")
    assert "tried to create an account" in to_owner
    assert "https://portal.example.org/auth/login" in to_owner
    assert "https://portal.example.org/auth/reset" in to_owner


def test_the_link_finishes_the_sign_up_once(client, mail_on, make_area):
    make_area()
    register(client, "new@example.org", display_name="Nia")
    link = mailed_link(mail_on, "new@example.org", "/auth/register/")
    form = client.get(link)
    assert form.status_code == 200 and "new@example.org" in form.get_data(True)
    short = client.post(link, data={"password": "short", "csrf_token": csrf(form)})
    assert short.status_code == 400 and users() == 0
    done = client.post(link, data={"password": PASSWORD, "csrf_token": csrf(form)})
    assert done.status_code == 302
    assert done.headers["Location"] == "/areas/test-area"
    assert "Welcome, Nia" in client.get("/areas/test-area").get_data(as_text=True)
    assert services.authenticate("new@example.org", PASSWORD).display_name == "Nia"
    used = client.get(link)  # the owner of the address may be told it is taken
    assert used.status_code == 302 and used.headers["Location"] == "/auth/login"


def csrf(response) -> str:
    return CSRF_RE.search(response.get_data(as_text=True)).group(1)


def test_a_forged_or_expired_link_is_refused(client, mail_on, make_area, monkeypatch):
    make_area()
    register(client, "new@example.org")
    link = mailed_link(mail_on, "new@example.org", "/auth/register/")
    assert client.get(link[:-3] + "xyz").status_code == 404
    monkeypatch.setattr(links, "SIGNUP_HOURS", -1)
    assert client.get(link).status_code == 404
    assert users() == 0


def test_the_link_ignores_a_forged_host(app, client, mail_on, make_area):
    make_area()
    app.config["WTF_CSRF_ENABLED"] = False  # the cookie is not sent to another host
    answer = client.post(
        "/auth/register",
        data={
            "display_name": "Ana",
            "email": "new@example.org",
            "home_area": "test-area",
        },
        headers={"Host": "evil.example"},
    )
    assert answer.status_code == 200
    [body] = mail_on.to("new@example.org")
    assert "evil.example" not in body
    assert "https://portal.example.org/auth/register/" in body


def test_both_answers_take_similar_time(client, mail_on, taken):
    def timed(email):
        start = time.perf_counter()
        assert register(client, email).status_code == 200
        return time.perf_counter() - start

    timed("warm@example.org")
    fresh = statistics.median(timed(f"new{n}@example.org") for n in range(5))
    again = statistics.median(timed("old@example.org") for _ in range(5))
    assert 0.3 < fresh / again < 3


def test_a_mail_server_away_answers_the_same_for_both(app, client, taken):
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=free_port(),  # nothing listens there
        MAIL_DEFAULT_SENDER="portal@example.org",
    )
    mail.init_app(app)
    fresh = register(client, "new@example.org")
    again = register(client, "old@example.org")
    assert fresh.status_code == 400
    same_page(fresh, again, "new@example.org", "old@example.org")
    assert "could not send the email" in fresh.get_data(as_text=True)


def test_without_mail_there_is_no_reset_and_sign_up_is_immediate(client, make_area):
    make_area()
    assert client.get("/auth/reset").status_code == 404
    assert "Forgot your password" not in client.get("/auth/login").get_data(True)
    answer = register(client, "new@example.org", password=PASSWORD)
    assert answer.status_code == 302 and users() == 1


# --- forgotten passwords ---


def ask_reset(client, email):
    token = csrf_token(client, "/auth/reset")
    return client.post("/auth/reset", data={"email": email, "csrf_token": token})


def test_reset_answers_the_same_for_any_address(client, mail_on, taken):
    assert "Forgot your password" in client.get("/auth/login").get_data(True)
    known = ask_reset(client, "old@example.org")
    unknown = ask_reset(client, "nobody@example.org")
    assert known.status_code == 200
    same_page(known, unknown, "old@example.org", "nobody@example.org")
    [note] = mail_on.to("nobody@example.org")
    assert "no account uses it" in note and "/auth/register" in note
    assert mailed_link(mail_on, "old@example.org", "/auth/reset/")


def test_a_reset_link_sets_a_new_password_once_and_ends_sessions(
    app, client, mail_on, taken
):
    other_session = services.start_session(taken)
    ask_reset(client, "old@example.org")
    link = mailed_link(mail_on, "old@example.org", "/auth/reset/")
    form = client.get(link)
    assert form.status_code == 200
    new = "a brand new password"
    done = client.post(link, data={"password": new, "csrf_token": csrf(form)})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert "Olga" in client.get("/").get_data(as_text=True)  # signed in
    assert services.load_session(other_session) is None
    assert services.authenticate("old@example.org", new) == taken
    assert client.get(link).status_code == 404  # the password changed: link dead


def test_a_used_reset_link_is_refused_with_words(client, mail_on, taken):
    ask_reset(client, "old@example.org")
    link = mailed_link(mail_on, "old@example.org", "/auth/reset/")
    form = client.get(link)
    new = {"password": "a brand new password", "csrf_token": csrf(form)}
    assert client.post(link, data=new).status_code == 302
    again = {"password": "yet another password", "csrf_token": csrf_token(client, "/")}
    for answer in (client.get(link), client.post(link, data=again)):
        assert answer.status_code == 404
        assert "used already" in answer.get_data(as_text=True)
    assert services.authenticate("old@example.org", "a brand new password") == taken


def test_an_expired_reset_link_is_refused_with_words(app, client, mail_on, taken):
    ask_reset(client, "old@example.org")
    link = mailed_link(mail_on, "old@example.org", "/auth/reset/")
    late = signed_ago(app, link, links.RESET, links.RESET_HOURS * 3600 + 60)
    refused = client.get(late)
    assert refused.status_code == 404
    assert "expired" in refused.get_data(as_text=True)
    # The same payload signed a minute inside the hour still works: only age differs.
    fresh = signed_ago(app, link, links.RESET, links.RESET_HOURS * 3600 - 60)
    assert client.get(fresh).status_code == 200


def signed_ago(app, path: str, salt: str, seconds: int) -> str:
    """The same link, signed ``seconds`` ago (itsdangerous, no waiting)."""
    from itsdangerous import TimestampSigner, URLSafeTimedSerializer

    head, token = path.rsplit("/", 1)
    secret = app.config["SECRET_KEY"]
    payload = URLSafeTimedSerializer(secret, salt=salt).loads(token)

    class Then(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds

    return (
        head
        + "/"
        + URLSafeTimedSerializer(secret, salt=salt, signer=Then).dumps(payload)
    )


def test_a_reset_ends_every_way_in(app, client, mail_on, taken):
    """Sessions, sockets and API tokens: whoever knew the old password could have
    opened any of them, and none outlives the reset."""
    from tests.test_sockets import Tab

    laptop = app.test_client()
    token = csrf_token(laptop)
    laptop.post(
        "/auth/login",
        data={"email": "old@example.org", "password": PASSWORD, "csrf_token": token},
    )
    _token, secret = services.create_token(taken, "script")
    page = Tab(app, flask_test_client=laptop)
    script = Tab(app, headers={"Authorization": f"Bearer {secret}"})
    assert page.connected() and script.connected()
    ask_reset(client, "old@example.org")
    link = mailed_link(mail_on, "old@example.org", "/auth/reset/")
    form = client.get(link)
    done = client.post(
        link, data={"password": "a brand new password", "csrf_token": csrf(form)}
    )
    assert "API tokens were revoked" in client.get(done.headers["Location"]).get_data(
        True
    )
    assert not page.connected() and not script.connected()
    assert laptop.get("/auth/profile").status_code == 302  # to sign in again
    api = app.test_client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
    )
    assert api.status_code == 401
    assert "Olga" in client.get("/").get_data(as_text=True)  # the resetter is in


def test_sign_up_and_reset_are_limited_per_client_with_words(make_app, make_area):
    app = make_app(REGISTER_LIMIT_PER_ADDRESS="2 per hour")
    with app.app_context():
        make_area()
        client = app.test_client()
        signups = [register(client, f"n{n}@example.org").status_code for n in range(3)]
        assert signups == [400, 400, 429]  # no mail server: a password is asked
        assert "Too many new accounts from here" in register(
            client, "z@example.org"
        ).get_data(True)
        app.config["MAIL_SERVER"] = "127.0.0.1"  # /auth/reset exists only with mail
        resets = []
        for _ in range(3):
            answer = ask_reset(client, "not an address")
            resets.append(answer.status_code)
        assert resets == [400, 400, 429]
        assert "Too many requests from here" in answer.get_data(as_text=True)
        assert int(answer.headers["Retry-After"]) > 0


def test_mails_to_one_address_are_limited_alike_for_any_address(make_app, taken, inbox):
    app = make_app(
        MAIL_LIMIT_PER_RECIPIENT="2 per hour", REGISTER_LIMIT_PER_ADDRESS="100 per hour"
    )
    with app.app_context():
        app.config.update(
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=inbox.port,
            MAIL_DEFAULT_SENDER="portal@example.org",
        )
        mail.init_app(app)
        client = app.test_client()
        for email in ("old@example.org", "nobody@example.org"):
            answers = [
                register(client, email).status_code,
                ask_reset(client, email).status_code,
            ]
            over = register(client, email)
            assert answers == [200, 200] and over.status_code == 429
            assert "Too many emails were sent to this address" in over.get_data(True)
        assert len(inbox.messages) == 4
