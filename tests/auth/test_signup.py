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
    link = mail_on.link("new@example.org", "/auth/register/")
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
    link = mail_on.link("new@example.org", "/auth/register/")
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
    assert mail_on.link("old@example.org", "/auth/reset/")


def test_a_reset_link_sets_a_new_password_once_and_ends_sessions(
    app, client, mail_on, taken
):
    other_session = services.start_session(taken)
    ask_reset(client, "old@example.org")
    link = mail_on.link("old@example.org", "/auth/reset/")
    form = client.get(link)
    assert form.status_code == 200
    new = "a brand new password"
    done = client.post(link, data={"password": new, "csrf_token": csrf(form)})
    assert done.status_code == 302 and done.headers["Location"] == "/"
    assert "Olga" in client.get("/").get_data(as_text=True)  # signed in
    assert services.load_session(other_session) is None
    assert services.authenticate("old@example.org", new) == taken
    assert client.get(link).status_code == 404  # the password changed: link dead
