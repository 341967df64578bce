"""Conditional GETs: an ETag changes with what the answer shows, a 304 never crosses
from one viewer to another, and Cache-Control says who may keep a copy."""

import re
from datetime import UTC, datetime

import pytest

from portal.caching import NONCE_PLACEHOLDER
from portal.extensions import db
from portal.tickets.models import Ticket
from portal.tickets.services import record
from tests.conftest import AuthActions
from tests.map.conftest import FISHTOWN, offset

NEAR = f"{FISHTOWN[0]},{FISHTOWN[1]}"
BODY_NONCE = re.compile(r'<script nonce="([^"]+)"')
SECRET = "Refused: it names a private person"


def header_nonce(response) -> str:
    return re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])[1]


def again(client, url, response):
    return client.get(url, headers={"If-None-Match": response.headers["ETag"]})


def signed_in(app, make_user, email):
    client = app.test_client()
    client.user = make_user(email=email)
    AuthActions(client).login(email)
    return client


def directives(response) -> set[str]:
    return {part.strip() for part in response.headers["Cache-Control"].split(",")}


@pytest.fixture
def make_ticket(app):
    def build(lat=FISHTOWN[0], lon=FISHTOWN[1], **fields):
        fields.setdefault("requested_at", datetime(2026, 11, 1, tzinfo=UTC))
        ticket = Ticket(
            lat=lat, lon=lon, service_code="SBX-SD", status="open", **fields
        )
        db.session.add(ticket)
        db.session.commit()
        return ticket

    return build


@pytest.fixture
def ticket(make_ticket, make_area):
    area = make_area("Fishtown", bounds=(-75.14, 39.96, -75.12, 39.98))
    return make_ticket(city_id="PHL-1", area_id=area.id, description="Pothole")


def test_public_reads_may_be_shared_but_are_revalidated(client, ticket):
    for url in (
        f"/api/v1/tickets?near={NEAR}",
        "/api/v1/tickets?bbox=-75.2,39.9,-75.0,40.0&zoom=12",
        "/open311/v2/requests.json",
        "/open311/v2/requests.xml",
    ):
        first = client.get(url)
        assert first.status_code == 200, url
        assert directives(first) == {"public", "no-cache"}, url
        repeat = again(client, url, first)
        assert repeat.status_code == 304 and repeat.data == b"", url


def test_a_changed_ticket_changes_every_etag_that_shows_it(client, ticket):
    urls = [
        f"/tickets/{ticket.id}",
        f"/api/v1/tickets?near={NEAR}",
        "/open311/v2/requests.json",
        f"/map/list?near={NEAR}",
    ]
    before = {url: client.get(url) for url in urls}
    assert all(again(client, url, before[url]).status_code == 304 for url in urls)
    ticket.supporters = 3
    ticket.status_notes = "Crew sent"
    ticket.address = "1200 Frankford Ave"  # what the list shows
    db.session.commit()
    for url in urls:
        after = again(client, url, before[url])
        assert after.status_code == 200, url
        assert after.headers["ETag"] != before[url].headers["ETag"], url


def test_a_new_history_line_changes_the_ticket_page(client, ticket):
    url = f"/tickets/{ticket.id}"
    first = client.get(url)
    record(ticket, "status", "sync", notes="Inspected", old="open", new="open")
    db.session.commit()
    changed = again(client, url, first)
    assert changed.status_code == 200 and "Inspected" in changed.get_data(as_text=True)


@pytest.mark.parametrize("path", ["ticket", "/map", "/map/list", "/areas/fishtown"])
def test_pages_are_private_and_a_304_keeps_the_page_nonce(client, ticket, path):
    url = f"/tickets/{ticket.id}" if path == "ticket" else path
    first = client.get(url)
    assert directives(first) == {"private", "no-cache"}
    assert "Cookie" in first.vary
    repeat = again(client, url, first)
    assert repeat.status_code == 304 and repeat.data == b""
    assert "public" not in repeat.headers.get("Cache-Control", "")
    assert NONCE_PLACEHOLDER not in first.get_data(as_text=True)
    assert header_nonce(first) != NONCE_PLACEHOLDER
    held = BODY_NONCE.search(first.get_data(as_text=True))
    if held:  # the page the browser keeps runs its script under the 304's policy
        assert held[1] == header_nonce(first) == header_nonce(repeat)


@pytest.mark.parametrize("path", ["ticket", "/map", "/map/list", "/areas/fishtown"])
def test_no_304_crosses_between_viewers(app, client, make_user, ticket, path):
    url = f"/tickets/{ticket.id}" if path == "ticket" else path
    ann = signed_in(app, make_user, "ann@example.org")
    bob = signed_in(app, make_user, "bob@example.org")
    anonymous, for_ann, for_bob = client.get(url), ann.get(url), bob.get(url)
    for mine in (for_ann, for_bob):  # never for a shared cache
        assert "private" in directives(mine) and "public" not in directives(mine)
    etags = {r.headers["ETag"] for r in (anonymous, for_ann, for_bob)}
    assert len(etags) == 3
    assert again(ann, url, anonymous).status_code == 200
    assert again(client, url, for_ann).status_code == 200
    assert again(bob, url, for_ann).status_code == 200
    # Each still gets its own copy confirmed.
    assert again(ann, url, for_ann).status_code == 304
    assert again(client, url, anonymous).status_code == 304


def test_the_filers_notes_never_reach_another_viewer(app, client, make_user, ticket):
    filer = signed_in(app, make_user, "filer@example.org")
    ticket.filed_by_id = filer.user.id
    ticket.send_state, ticket.last_error = "rejected", SECRET
    record(ticket, "rejected", "sender", notes=SECRET, new="rejected")
    db.session.commit()
    url = f"/tickets/{ticket.id}"
    own = filer.get(url)
    assert SECRET in own.get_data(as_text=True)
    other = signed_in(app, make_user, "other@example.org")
    for viewer in (other, client):
        answer = again(viewer, url, own)
        assert answer.status_code == 200
        assert SECRET not in answer.get_data(as_text=True)


def test_following_changes_the_page_and_a_message_is_never_a_304(
    app, make_user, ticket
):
    ann = signed_in(app, make_user, "ann@example.org")
    url = f"/tickets/{ticket.id}"
    first = ann.get(url)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', first.text)
    ann.post(f"{url}/follow", data={"csrf_token": token[1]})
    with_message = again(ann, url, first)
    assert with_message.status_code == 200 and "ETag" not in with_message.headers
    assert "You follow this request." in with_message.get_data(as_text=True)
    following = again(ann, url, first)
    assert following.status_code == 200
    assert "Stop following" in following.get_data(as_text=True)
    assert again(ann, url, following).status_code == 304


def test_the_same_page_twice_has_the_same_etag(client, make_ticket):
    for step in range(3):
        make_ticket(*offset(*FISHTOWN, north_m=step * 40), city_id=f"PHL-{step}")
    for url in ("/map", "/map?status=any", f"/map/list?near={NEAR}", "/areas/"):
        assert client.get(url).headers["ETag"] == client.get(url).headers["ETag"]
    assert (
        client.get("/map").headers["ETag"]
        != client.get("/map?status=any").headers["ETag"]
    )
