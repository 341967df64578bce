"""Every account mail is multipart (text and HTML saying the same), in the language
the person's browser asked for, with any time in the city's zone."""

import re

import pytest
from markupsafe import escape

from tests.auth.inbox import html, link, links, mails, text
from tests.auth.test_email_change import ask, confirm
from tests.auth.test_signup import ask_reset, register
from tests.conftest import PASSWORD, csrf_token


@pytest.fixture
def app_overrides():
    return {"LANGUAGES": ["en", "es"], "CITY_TIMEZONE": "America/Los_Angeles"}


ADDRESSES = (
    "new@example.org",
    "olga@example.org",
    "ana@example.org",
    "nobody@example.org",
    "moved@example.org",
)


@pytest.fixture
def every_mail(client, mail_on, make_area, make_user):
    """One of each account mail, asked for by a browser set to Spanish."""
    make_area()
    make_user(email="olga@example.org", name="Olga")
    make_user(email="ana@example.org", name="Ana")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "es-MX,es;q=0.9,en;q=0.5"
    register(client, "new@example.org")
    register(client, "olga@example.org")
    ask_reset(client, "ana@example.org")
    ask_reset(client, "nobody@example.org")
    token = csrf_token(client)
    signed_in = client.post(
        "/auth/login",
        data={"email": "ana@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert signed_in.status_code == 302
    ask(client, "olga@example.org")
    ask(client, "moved@example.org")
    assert (
        confirm(client, link(mail_on, "moved@example.org", "/auth/email/")).status_code
        == 302
    )
    # Sign-up and its note to a taken address, reset and its note to an address
    # with no account, change and its note to a taken address, and the notice to
    # the old address: seven kinds, each once.
    every = [message for address in ADDRESSES for message in mails(mail_on, address)]
    assert len(every) == 7 == len(mail_on.messages)
    return every


def test_every_account_mail_is_multipart_and_both_parts_agree(every_mail):
    for message in every_mail:
        assert message.get_content_type() in (
            "multipart/mixed",
            "multipart/alternative",
        )
        kinds = [part.get_content_type() for part in message.walk()]
        assert "multipart/alternative" in kinds
        assert "text/plain" in kinds and "text/html" in kinds
        plain, page = text(message), html(message)
        # Every paragraph of the text is in the HTML, and each "label:" + address
        # pair is a button there.
        for paragraph in re.split(r"(?:\r?\n){2,}", plain.strip()):
            label, _colon, url = paragraph.partition(":\r\n")
            if url:
                assert f'href="{escape(url)}"' in page and str(escape(label)) in page
            else:
                assert str(escape(paragraph)) in page, message["Subject"]
        for url in links(message):
            assert f'href="{escape(url)}"' in page  # each text link is a button too
        assert "<script" not in page and "src=" not in page  # nothing loads remotely


def test_every_account_mail_is_in_the_persons_language(every_mail):
    for message in every_mail:
        assert message["Content-Language"] == "es"
        assert '<html lang="es">' in html(message)
    # No catalog is translated yet, so the words are the English ones; dates,
    # though, are already the language's own ("3 de diciembre de 2026").
    [notice] = [
        m for m in every_mail if m["Subject"] == "Your email address was changed"
    ]
    assert re.search(r"\d+ de \w+ de \d{4}", text(notice))


def test_times_are_in_the_citys_zone(every_mail):
    timed = [m for m in every_mail if re.search(r"\d:\d\d:\d\d", text(m))]
    # The sign-up, reset and change links say until when; the notice says when.
    assert len(timed) == 4
    for message in timed:
        # Los Angeles is 8 hours behind UTC in winter, 7 in summer.
        assert re.search(r"\d:\d\d:\d\d (-0800|-0700)", text(message)), text(message)


def test_a_link_is_a_button_with_the_address_shown(every_mail):
    [change] = [m for m in every_mail if "/auth/email/" in text(m)]
    [url] = [u for u in links(change) if "/auth/email/" in u]
    page = html(change)
    assert page.count(str(escape(url))) == 2  # the button and the address under it
    assert "Confirm the new address" in page
