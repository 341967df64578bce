"""Change of email address from the profile: asked with the password, confirmed at
the new address by a link that works once, signed in; the old address told, with no
link; the same answer whether the new address is taken or not, and never two
accounts on one address."""

import statistics
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from portal.auth import links, services
from portal.auth.models import User
from portal.extensions import db, mail
from tests.auth.inbox import html, link, mails, text
from tests.auth.inbox import links as links_in
from tests.auth.test_signup import csrf, same_page
from tests.conftest import PASSWORD, csrf_token
from tests.mailbox import free_port


@pytest.fixture
def app_overrides():
    # Room for the timing test's requests; the limit has a test of its own.
    return {"EMAIL_CHANGE_LIMIT_PER_ACCOUNT": "100 per hour"}


@pytest.fixture
def ana(make_user):
    return make_user(email="ana@example.org", name="Ana")


@pytest.fixture
def signed_in(client, auth, ana):
    assert auth.login("ana@example.org").status_code == 302
    return ana


def ask(client, new_email, password=PASSWORD):
    return client.post(
        "/auth/email",
        data={
            "email-new_email": new_email,
            "email-current_password": password,
            "email-csrf_token": csrf_token(client, "/auth/profile"),
        },
    )


def confirm(client, path):
    form = client.get(path)
    assert form.status_code == 200, form.get_data(as_text=True)
    return client.post(path, data={"csrf_token": csrf(form)})


def email_of(user) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).email


def test_the_new_address_confirms_the_change(client, mail_on, signed_in):
    profile = client.get("/auth/profile").get_data(as_text=True)
    assert 'name="email-new_email"' in profile
    asked = ask(client, " New@Example.org ")
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Check your inbox" in page
    assert "new@example.org" in page
    assert email_of(signed_in) == "ana@example.org"  # nothing before the link
    assert mails(mail_on, "ana@example.org") == []
    path = link(mail_on, "new@example.org", "/auth/email/")

    shown = client.get(path)  # a mail program's scan opens links: a GET changes nothing
    assert shown.status_code == 200 and "new@example.org" in shown.get_data(True)
    assert email_of(signed_in) == "ana@example.org"
    done = confirm(client, path)
    assert done.status_code == 302 and done.headers["Location"] == "/auth/profile"
    assert "Your email address is now new@example.org" in client.get(
        "/auth/profile"
    ).get_data(as_text=True)  # still signed in: the session survives the change
    assert email_of(signed_in) == "new@example.org"
    assert services.authenticate("new@example.org", PASSWORD).id == signed_in.id

    [notice] = mails(mail_on, "ana@example.org")
    assert notice["Subject"] == "Your email address was changed"
    assert "n…@example.org" in text(notice)  # masked: the old box may be someone's
    assert "EST" in text(notice) or "EDT" in text(notice)  # the city's zone
    assert links_in(notice) == [] and "href" not in html(notice)  # nothing to abuse


def test_a_used_link_is_refused_with_words(client, mail_on, signed_in):
    ask(client, "new@example.org")
    path = link(mail_on, "new@example.org", "/auth/email/")
    assert confirm(client, path).status_code == 302
    again = client.get(path)
    assert again.status_code == 404
    assert "used already" in again.get_data(as_text=True)
    token = csrf_token(client, "/auth/profile")
    assert client.post(path, data={"csrf_token": token}).status_code == 404
    assert len(mails(mail_on, "ana@example.org")) == 1  # one notice, not two


def aged(app, path: str, hours: float) -> str:
    """The same link, signed ``hours`` ago."""
    salt, token = links.EMAIL_CHANGE, path.rsplit("/", 1)[1]
    secret = app.config["SECRET_KEY"]
    payload = URLSafeTimedSerializer(secret, salt=salt).loads(token)

    class Then(TimestampSigner):
        def get_timestamp(self):
            return int(time.time() - hours * 3600)

    old = URLSafeTimedSerializer(secret, salt=salt, signer=Then).dumps(payload)
    return path.rsplit("/", 1)[0] + "/" + old


def test_an_expired_link_is_refused_with_words(app, client, mail_on, signed_in):
    ask(client, "new@example.org")
    path = link(mail_on, "new@example.org", "/auth/email/")
    late = aged(app, path, links.EMAIL_CHANGE_HOURS + 0.1)
    refused = client.get(late)
    assert refused.status_code == 404
    assert "expired" in refused.get_data(as_text=True)
    token = csrf_token(client, "/auth/profile")
    assert client.post(late, data={"csrf_token": token}).status_code == 404
    assert email_of(signed_in) == "ana@example.org"
    # Signed an hour short of the limit, the same change still goes through.
    assert (
        confirm(client, aged(app, path, links.EMAIL_CHANGE_HOURS - 1)).status_code
        == 302
    )


def test_a_taken_address_gets_the_same_answer_and_nothing_changes(
    client, mail_on, signed_in, make_user
):
    olga = make_user(email="olga@example.org", name="Olga")
    free = ask(client, "new@example.org")
    taken = ask(client, "OLGA@example.org")
    assert free.status_code == 200
    same_page(free, taken, "new@example.org", "olga@example.org")
    assert ("Set-Cookie" in free.headers) == ("Set-Cookie" in taken.headers)
    [note] = mails(mail_on, "olga@example.org")
    assert "nothing changed" in text(note)
    assert not [u for u in links_in(note) if "/auth/email/" in u]  # no link to follow
    assert "Ana" not in text(note)  # nor who asked
    assert email_of(signed_in) == "ana@example.org"
    assert email_of(olga) == "olga@example.org"
    assert services.authenticate("olga@example.org", PASSWORD).id == olga.id


def test_an_address_taken_meanwhile_merges_nothing(client, mail_on, signed_in):
    """Ana asks for new@; before she follows the link, someone makes an account with
    new@. Her link must then change nothing: no two accounts on one address, no
    sign-in as the other account, no session of either ended, no notice sent."""
    ask(client, "new@example.org")
    path = link(mail_on, "new@example.org", "/auth/email/")
    other = services.register_user(
        "Nora", "new@example.org", "noras own password", None
    )
    noras_session = services.start_session(other)
    refused = confirm(client, path)
    assert refused.status_code == 409
    assert "has an account already, so nothing changed" in refused.get_data(True)
    owners = db.session.scalars(select(User).where(User.email == "new@example.org"))
    assert [u.id for u in owners] == [other.id]
    assert email_of(signed_in) == "ana@example.org"
    page = client.get("/auth/profile").get_data(as_text=True)
    assert "ana@example.org" in page and "Nora" not in page  # still Ana, only Ana
    assert services.load_session(noras_session).id == other.id
    assert services.authenticate("new@example.org", "noras own password") == other
    assert mails(mail_on, "ana@example.org") == []


def test_the_link_works_only_signed_in_to_its_account(
    client, auth, mail_on, signed_in, make_user
):
    ask(client, "new@example.org")
    path = link(mail_on, "new@example.org", "/auth/email/")
    auth.logout()
    away = client.get(path)
    assert away.status_code == 302
    assert away.headers["Location"].startswith("/auth/login?next=/auth/email/")
    bob = make_user(email="bob@example.org", name="Bob")
    auth.login("bob@example.org")
    wrong = client.get(path)
    assert wrong.status_code == 403
    assert "for another account" in wrong.get_data(as_text=True)
    assert email_of(bob) == "bob@example.org"
    assert email_of(signed_in) == "ana@example.org"


@pytest.mark.parametrize(
    "new_email, password, field, words",
    [
        ("new@example.org", "not her password", "current_password", "not right"),
        ("not an address", PASSWORD, "new_email", "valid email address"),
        ("", PASSWORD, "new_email", "This field is required"),
        ("new@example.org", "", "current_password", "This field is required"),
        ("ANA@example.org", PASSWORD, "new_email", "your address already"),
        ("n" * 250 + "@example.org", PASSWORD, "new_email", "at most 254"),
    ],
)
def test_bad_input_names_the_field_and_mails_nobody(
    client, mail_on, signed_in, new_email, password, field, words
):
    answer = ask(client, new_email, password)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert f'id="email-{field}-error"' in page and words in page
    assert mail_on.messages == []
    assert email_of(signed_in) == "ana@example.org"


def test_asking_needs_a_session(client, mail_on, ana):
    answer = client.post(
        "/auth/email",
        data={
            "email-new_email": "x@example.org",
            "email-current_password": PASSWORD,
            "email-csrf_token": csrf_token(client, "/auth/login"),
        },
    )
    assert answer.status_code == 302 and "/auth/login" in answer.headers["Location"]
    assert mail_on.messages == []


def test_changes_asked_for_are_limited_per_account(make_app, make_user, inbox):
    app = make_app(EMAIL_CHANGE_LIMIT_PER_ACCOUNT="2 per hour")
    with app.app_context():
        use_mail(app, inbox)
        client = app.test_client()
        make_user(email="ana@example.org", name="Ana")
        csrf_login(client, "ana@example.org")
        statuses = [ask(client, f"new{n}@example.org").status_code for n in range(2)]
        wrong = ask(client, "new9@example.org", "a wrong password")
        assert statuses == [200, 200] and wrong.status_code == 429
        assert "Too many changes of address" in wrong.get_data(as_text=True)
        assert int(wrong.headers["Retry-After"]) > 0
        assert len(inbox.messages) == 2


def test_mails_to_one_address_are_limited_across_pages(make_app, make_user, inbox):
    """Sign-up, reset and change share one budget per address mailed, and count
    alike whether it has an account: a 429 tells nothing either."""
    app = make_app(MAIL_LIMIT_PER_RECIPIENT="2 per hour")
    with app.app_context():
        use_mail(app, inbox)
        client = app.test_client()
        make_user(email="ana@example.org", name="Ana")
        csrf_login(client, "ana@example.org")
        token = csrf_token(client, "/auth/reset")
        reset = client.post(
            "/auth/reset", data={"email": "x@example.org", "csrf_token": token}
        )
        assert reset.status_code == 200
        assert ask(client, "X@example.org").status_code == 200
        over = ask(client, "x@example.org")
        assert over.status_code == 429
        assert "Too many emails were sent to this address" in over.get_data(True)
        assert ask(client, "y@example.org").status_code == 200  # another address
        assert len(mails(inbox, "x@example.org")) == 2


def use_mail(app, inbox):
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=inbox.port,
        MAIL_DEFAULT_SENDER="portal@example.org",
        PUBLIC_URL="https://portal.example.org",
    )
    mail.init_app(app)


def csrf_login(client, email, password=PASSWORD):
    token = csrf_token(client)
    answer = client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token}
    )
    assert answer.status_code == 302


def test_a_change_kills_pending_reset_links_and_a_reset_kills_pending_changes(
    client, mail_on, signed_in
):
    reset = client.post(
        "/auth/reset",
        data={
            "email": "ana@example.org",
            "csrf_token": csrf_token(client, "/auth/reset"),
        },
    )
    assert reset.status_code == 200
    reset_path = link(mail_on, "ana@example.org", "/auth/reset/")
    ask(client, "new@example.org")
    assert (
        confirm(client, link(mail_on, "new@example.org", "/auth/email/")).status_code
        == 302
    )
    dead = client.get(reset_path)  # mailed to the old address: worthless now
    assert dead.status_code == 404 and "used already" in dead.get_data(True)

    ask(client, "newer@example.org")
    change_path = link(mail_on, "newer@example.org", "/auth/email/")
    services.reset_password(db.session.get(User, signed_in.id), "a brand new password")
    csrf_login(client, "new@example.org", "a brand new password")
    refused = client.get(change_path)
    assert refused.status_code == 404 and "used already" in refused.get_data(True)
    assert email_of(signed_in) == "new@example.org"


def test_the_old_address_hears_before_anything_changes(app, client, mail_on, signed_in):
    ask(client, "new@example.org")
    path = link(mail_on, "new@example.org", "/auth/email/")
    form = client.get(path)
    app.config["MAIL_PORT"] = free_port()  # the mail server is away now
    mail.init_app(app)
    away = client.post(path, data={"csrf_token": csrf(form)})
    assert away.status_code == 503
    assert "could not send the email" in away.get_data(as_text=True)
    assert email_of(signed_in) == "ana@example.org"
    app.config["MAIL_PORT"] = mail_on.port
    mail.init_app(app)
    assert confirm(client, path).status_code == 302  # the link still works
    assert len(mails(mail_on, "ana@example.org")) == 1


def test_both_answers_take_similar_time(client, mail_on, signed_in, make_user):
    make_user(email="olga@example.org", name="Olga")

    def timed(email):
        start = time.perf_counter()
        assert ask(client, email).status_code == 200
        return time.perf_counter() - start

    timed("warm@example.org")
    free = statistics.median(timed(f"new{n}@example.org") for n in range(4))
    taken = statistics.median(timed("olga@example.org") for _ in range(4))
    assert 0.3 < free / taken < 3


def test_without_mail_the_change_is_immediate_and_a_taken_address_named(
    client, signed_in, make_user
):
    make_user(email="olga@example.org", name="Olga")
    taken = ask(client, "olga@example.org")
    assert taken.status_code == 400
    assert 'id="email-new_email-error"' in taken.get_data(as_text=True)
    assert "has an account already" in taken.get_data(as_text=True)
    done = ask(client, "new@example.org")
    assert done.status_code == 302 and done.headers["Location"] == "/auth/profile"
    assert email_of(signed_in) == "new@example.org"
