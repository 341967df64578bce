"""The bell over Socket.IO: a signed-in page's socket joins user:<id> on
/notifications and hears ``notification`` once the change has committed, it
alone; signing out closes it."""

from datetime import timedelta

import pytest
from flask_socketio import SocketIOTestClient

from portal.cityapi.types import ServiceRequest
from portal.dbtypes import utcnow
from portal.extensions import db, socketio
from portal.notifications import services
from portal.tickets.models import Ticket
from portal.tickets.services import set_following
from portal.tickets.sync import apply_update
from tests.conftest import AuthActions

NAMESPACE = "/notifications"


class Page:
    """One signed-in browser and its bell's socket, each call in an app context of
    its own, as in a server (tests/test_sockets.py explains why)."""

    def __init__(self, app, user):
        self.app, self.client = app, app.test_client()
        self.auth = AuthActions(self.client)
        self.auth.login(user.email)
        with app.app_context():
            self.socket = SocketIOTestClient(
                app, socketio, namespace=NAMESPACE, flask_test_client=self.client
            )

    def heard(self) -> list[dict]:
        received = self.socket.get_received(NAMESPACE)
        return [e["args"][0] for e in received if e["name"] == "notification"]

    def ask(self, event):
        with self.app.app_context():
            return self.socket.emit(event, namespace=NAMESPACE, callback=True)

    def connected(self) -> bool:
        return self.socket.is_connected(NAMESPACE)

    def close(self):
        if self.connected():
            with self.app.app_context():
                self.socket.disconnect(namespace=NAMESPACE)


@pytest.fixture
def pages(app, make_user, area):
    opened = []

    def open_page(user):
        page = Page(app, user)
        opened.append(page)
        return page

    yield open_page
    for page in opened:
        page.close()


def test_the_recipient_alone_hears_it_after_the_commit(pages, make_user):
    ann, bo = make_user(name="Ann"), make_user(name="Bo")
    ann_page, bo_page = pages(ann), pages(bo)
    assert ann_page.ask("unread") == {"unread": 0}
    services.notify(
        "ticket_status",
        item=("ticket", 5),
        recipients=[ann],
        values={"title": "Pothole", "status": "closed", "note": "Filled."},
        change="t1",
    )
    assert ann_page.heard() == []  # nothing before the commit
    db.session.commit()
    (message,) = ann_page.heard()
    assert message["unread"] == 1
    latest = message["latest"]
    assert latest["kind"] == "ticket_status"
    assert latest["item"] == {"type": "ticket", "id": 5}
    assert latest["text"] == "Pothole is now closed. Filled."
    assert latest["read"] is False
    assert bo_page.heard() == []
    # The same change again writes nothing, and rings nothing.
    services.notify("ticket_status", item=("ticket", 5), recipients=[ann], change="t1")
    db.session.commit()
    assert ann_page.heard() == []
    assert ann_page.ask("unread") == {"unread": 1}


def test_a_rolled_back_change_rings_no_bell(pages, make_user):
    ann = make_user()
    page = pages(ann)
    services.notify("reply", item=("note", 1), recipients=[ann], change="p")
    db.session.rollback()
    db.session.commit()
    assert page.heard() == []


def test_reading_in_one_tab_updates_the_others(app, pages, make_user):
    ann = make_user()
    services.notify("reply", item=("note", 1), recipients=[ann], change="p")
    db.session.commit()
    first, second = pages(ann), pages(ann)
    services.mark_all_read(ann)
    for tab in (first, second):
        assert tab.heard() == [{"unread": 0, "latest": None}]


def test_an_anonymous_socket_is_refused_the_count_and_hears_nothing(app, make_user):
    ann = make_user()
    with app.app_context():
        socket = SocketIOTestClient(app, socketio, namespace=NAMESPACE)
        socket.emit("unread", namespace=NAMESPACE, callback=True)
    (error,) = [e for e in socket.get_received(NAMESPACE) if e["name"] == "error"]
    assert error["args"][0]["code"] == "forbidden"
    services.notify("reply", item=("note", 1), recipients=[ann], change="p")
    db.session.commit()
    assert socket.get_received(NAMESPACE) == []
    with app.app_context():
        socket.disconnect(namespace=NAMESPACE)


def test_signing_out_closes_the_bells_socket(pages, make_user):
    ann = make_user()
    page = pages(ann)
    assert page.connected()
    page.auth.logout()
    assert not page.connected()


def test_a_followed_ticket_closed_by_the_city_rings_its_followers(
    pages, make_user, area
):
    ann, bo = make_user(name="Ann"), make_user(name="Bo")
    ticket = Ticket(
        city_id="9001",
        service_code="SBX-DA",
        service_name="Dead Animal in Street",
        status="open",
        lat=39.95,
        lon=-75.15,
        area=area,
        city_updated_at=utcnow() - timedelta(hours=1),
    )
    db.session.add(ticket)
    db.session.commit()
    set_following(ann, ticket.id, True)
    ann_page, bo_page = pages(ann), pages(bo)
    closed = ServiceRequest(
        "9001", "closed", status_notes="Removed.", updated_datetime=utcnow()
    )
    apply_update(closed, "sync")  # as the worker does, outside any request
    db.session.commit()
    (message,) = ann_page.heard()
    assert message["unread"] == 1
    assert message["latest"]["text"] == "Dead Animal in Street is now closed. Removed."
    assert bo_page.heard() == []
