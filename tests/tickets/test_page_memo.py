"""The ticket page: its version is one read (the ticket's revision, moved by the
database), and signed out a version is rendered once per process and then served
from the memo, its CSP nonce still matching the header."""

import re
from contextlib import contextmanager

import pytest
from flask import template_rendered
from sqlalchemy import create_engine, event, text

from portal.areas.models import Area
from portal.extensions import db
from portal.map import stamps
from portal.tickets.models import Ticket, TicketPhoto
from portal.tickets.services import queue_ticket, record, set_following
from tests.conftest import AuthActions

BODY_NONCE = re.compile(r'<script nonce="([^"]+)"')


def header_nonce(response) -> str:
    return re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])[1]


@contextmanager
def renders(app):
    seen = []

    def note(sender, template, context, **extra):
        seen.append(template.name)

    template_rendered.connect(note, app)
    try:
        yield seen
    finally:
        template_rendered.disconnect(note, app)


@contextmanager
def ticket_reads():
    seen = []

    def note(conn, cursor, statement, parameters, context, executemany):
        if "tickets" in statement:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def revision(ticket_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(text("SELECT revision FROM tickets WHERE id = :id"), {
        "id": ticket_id
    })  # fmt: skip


@pytest.fixture
def area(make_area):
    return make_area("Fishtown", bounds=(-75.14, 39.96, -75.12, 39.98))


@pytest.fixture
def ticket(area):
    return queue_ticket(
        "SBX-SD", lat=39.973, lon=-75.129, address="1200 Frankford Ave", area=area,
        description="A pothole by the school",
    )  # fmt: skip


@pytest.fixture
def page(ticket):
    return f"/tickets/{ticket.id}"


def test_a_second_anonymous_view_is_not_rendered_and_keeps_its_nonce(app, client, page):
    with renders(app) as rendered:
        first = client.get(page)
    assert rendered == ["tickets/show.html"]
    with renders(app) as rendered, ticket_reads() as reads:
        second = app.test_client().get(page)  # another visitor
    assert rendered == []
    assert len(reads) == 1  # the version, and nothing else
    assert second.status_code == 200
    assert second.data == first.data
    assert second.headers["ETag"] == first.headers["ETag"]
    nonce = BODY_NONCE.search(second.get_data(as_text=True))[1]
    assert nonce == header_nonce(second) == header_nonce(first)
    assert "private" in second.headers["Cache-Control"]


def test_a_revalidation_reads_one_row(app, client, page):
    first = client.get(page)
    with renders(app) as rendered, ticket_reads() as reads:
        again = client.get(page, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and rendered == []
    assert len(reads) == 1


@pytest.mark.parametrize("change", ["event", "photo", "status", "edit"])
def test_what_changed_is_on_the_next_view(client, page, ticket, change):
    before = client.get(page).get_data(as_text=True)
    if change == "event":
        record(ticket, "status", "sync", notes="Crew inspected it", new="open")
        shown = "Crew inspected it"
    elif change == "photo":
        key = "k" * 24
        db.session.add(TicketPhoto(ticket=ticket, key=key, width=4, height=3, size=9))
        shown = f"{key}.thumb.jpg"
    elif change == "status":
        ticket.status = "closed"
        shown = 'id="ticket-status">closed<'
    else:
        ticket.description = "Now a crater"
        shown = "Now a crater"
    db.session.commit()
    assert shown not in before
    assert shown in client.get(page).get_data(as_text=True)


def test_names_from_other_rows_are_in_the_version(client, page, ticket, make_user):
    liaison = make_user(name="Dana Liaison")
    ticket.filed_by, ticket.on_behalf_of = liaison, "the block club"
    db.session.commit()
    assert "Dana Liaison" in client.get(page).get_data(as_text=True)
    liaison.display_name = "Dana Q. Liaison"
    db.session.get(Area, ticket.area_id).name = "Old Fishtown"
    db.session.commit()
    body = client.get(page).get_data(as_text=True)
    assert "Dana Q. Liaison" in body and "Old Fishtown" in body


def test_a_change_from_another_process_is_on_the_next_view(
    client, page, ticket, database_url
):
    client.get(page)
    other = create_engine(database_url)
    with other.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO ticket_events (ticket_id, at, kind, source, notes) "
                "VALUES (:id, CURRENT_TIMESTAMP, 'status', 'sync', 'From elsewhere')"
            ),
            {"id": ticket.id},
        )
    other.dispose()
    assert "From elsewhere" in client.get(page).get_data(as_text=True)


def test_signed_in_viewers_are_rendered_with_their_own_marks(
    app, client, page, ticket, make_user
):
    user = make_user(email="resident@example.org")
    AuthActions(client).login(user.email)
    assert ">Follow<" in client.get(page).get_data(as_text=True)
    with renders(app) as rendered:
        client.get(page)
    assert rendered == ["tickets/show.html"]  # never from the memo
    set_following(user, ticket.id, True)
    assert "Stop following" in client.get(page).get_data(as_text=True)
    anonymous = app.test_client().get(page).get_data(as_text=True)
    assert "Stop following" not in anonymous and "Sign in to follow" in anonymous


def test_the_revision_moves_once_per_change_and_not_the_map_stamp(ticket):
    start, map_stamp = revision(ticket.id), stamps.read()
    record(ticket, "status", "sync", notes="Seen", new="open")
    db.session.commit()
    assert revision(ticket.id) == start + 1  # no trigger loop, no double count
    assert stamps.read() == map_stamp  # the row's revision is not a map column
    ticket = db.session.get(Ticket, ticket.id)
    ticket.send_state = "sending"
    db.session.commit()
    assert revision(ticket.id) == start + 2
    ticket = db.session.get(Ticket, ticket.id)
    db.session.delete(ticket.events[0])
    db.session.commit()
    assert revision(ticket.id) == start + 3
