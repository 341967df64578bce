"""Socket.IO: the connection carries the login session of the page (or its token);
handlers never raise; event limits are per person."""

import logging

import pytest
from flask import request
from flask_socketio import SocketIOTestClient

from portal.auth.services import create_token
from portal.extensions import socketio
from portal.sockets import PortalNamespace
from tests.conftest import AuthActions, csrf_token


def test_anonymous_socket_is_anonymous(app):
    socket = SocketIOTestClient(app, socketio)
    assert socket.is_connected()
    assert socket.emit("whoami", callback=True) == {"user": None}
    socket.disconnect()


def test_socket_carries_the_login_session(app, client, auth, make_user):
    user = make_user(name="Sam")
    auth.login(user.email)
    socket = SocketIOTestClient(app, socketio, flask_test_client=client)
    assert socket.emit("whoami", callback=True) == {"user": "Sam"}
    socket.disconnect()


def test_a_logged_out_cookie_gives_an_anonymous_socket(app, client, auth, make_user):
    user = make_user()
    auth.login(user.email)
    auth.logout()
    socket = SocketIOTestClient(app, socketio, flask_test_client=client)
    assert socket.emit("whoami", callback=True) == {"user": None}
    socket.disconnect()


# --- handlers never raise ---


class Tab:
    """A Socket.IO client whose every call runs in an app context of its own, as in a
    server: Flask-Login keeps the user it loaded in ``g``, which the test's own app
    context would otherwise share between clients."""

    def __init__(self, app, namespace="/", **options):
        self.app, self.namespace = app, namespace
        with app.app_context():
            self.socket = SocketIOTestClient(
                app, socketio, namespace=namespace, **options
            )

    def emit(self, event, *args):
        with self.app.app_context():
            return self.socket.emit(
                event, *args, namespace=self.namespace, callback=True
            )

    def errors(self) -> list[dict]:
        received = self.socket.get_received(self.namespace)
        return [e["args"][0] for e in received if e["name"] == "error"]

    def connected(self) -> bool:
        return self.socket.is_connected(self.namespace)

    def close(self):
        if self.connected():
            with self.app.app_context():
                self.socket.disconnect(namespace=self.namespace)


@pytest.mark.parametrize("value", [2**70, 2**31, 0, -1, True, "1", None])
def test_an_id_no_row_can_have_is_refused_naming_the_field(app, value):
    tab = Tab(app, "/forums")
    tab.emit("join", {"thread": value})
    [error] = tab.errors()
    assert error["code"] == "validation_failed"
    assert list(error["fields"]) == ["thread"]
    assert "2147483647" in error["message"]
    tab.close()


def test_an_unexpected_error_is_logged_and_answered(app, monkeypatch, caplog):
    def broken(event_id):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("portal.events.sockets.get_event", broken)
    tab = Tab(app, "/events")
    with caplog.at_level(logging.ERROR, logger="portal.sockets"):
        tab.emit("join", {"event": 1})
    assert tab.errors() == [
        {
            "code": "internal_error",
            "message": "Something went wrong on our side. It has been logged; "
            "please try again.",
            "fields": {},
        }
    ]
    [record] = [r for r in caplog.records if r.name == "portal.sockets"]
    assert "join" in record.getMessage() and "/events" in record.getMessage()
    assert record.exc_info[0] is RuntimeError
    assert tab.connected()  # and the socket carries on
    assert tab.emit("whoami") == {"user": None}
    tab.close()


def test_a_failing_connect_is_refused_and_logged(
    app, client, auth, make_user, monkeypatch, caplog
):
    def broken(user_id):
        raise RuntimeError("no rooms today")

    monkeypatch.setattr("portal.sockets.user_room", broken)
    auth.login(make_user().email)
    with caplog.at_level(logging.ERROR, logger="portal.sockets"):
        tab = Tab(app, flask_test_client=client)
    assert not tab.connected()
    [record] = [r for r in caplog.records if r.name == "portal.sockets"]
    assert record.exc_info[0] is RuntimeError


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"thread": 1, "note": "bell\x07"}, "note"),
        ({"thread": 1, "note\x00": "x"}, "body"),
        ({"thread": 1, "tags": ["fine", "\ud800"]}, "tags.1"),
        ("\x00", "body"),
    ],
)
def test_text_that_is_not_text_is_refused_naming_the_field(app, payload, field):
    tab = Tab(app, "/forums")
    tab.emit("join", payload)
    assert tab.errors() == [
        {
            "code": "validation_failed",
            "message": "Contains characters that are not valid text.",
            "fields": {field: "Contains characters that are not valid text."},
        }
    ]
    tab.close()


def test_an_event_with_unexpected_arguments_is_refused_not_crashed(app):
    tab = Tab(app)
    tab.emit("whoami", {"extra": 1})
    [error] = tab.errors()
    assert error["code"] == "validation_failed" and list(error["fields"]) == ["body"]
    tab.close()


@pytest.mark.parametrize("still_seen", [False, True])
def test_joining_after_the_connection_closed_is_harmless(app, monkeypatch, still_seen):
    """The race of a join handled in one thread while its connection closes in
    another: python-socketio raises KeyError for a sid its namespace no longer has
    (and ValueError once the namespace is empty)."""
    stays, goes = Tab(app, "/forums"), Tab(app, "/forums")
    manager = socketio.server.manager
    gone = manager.sid_from_eio_sid(goes.socket.eio_sid, "/forums")
    goes.close()
    if still_seen:  # the disconnect lands between the check and the join
        monkeypatch.setattr("portal.sockets._connected", lambda: True)
    namespace = PortalNamespace("/forums")
    for where in ("/forums", "/nobody-here"):
        with app.test_request_context("/socket.io/"):
            request.sid, request.namespace = gone, where
            assert namespace.join("thread:1") is False
            namespace.leave("thread:1")
    assert list(manager.get_participants("/forums", "thread:1")) == []
    stays.close()


# --- event limits per person ---


def browser(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_anonymous_sockets_share_their_address_budget(app):
    app.config["SOCKET_EVENT_LIMIT"] = "3 per minute"
    first = Tab(app, flask_test_client=browser(app, "192.0.2.1"))
    assert [first.emit("whoami") for _ in range(2)] == [{"user": None}] * 2
    second = Tab(app, flask_test_client=browser(app, "192.0.2.1"))
    assert second.emit("whoami") == {"user": None}
    assert not second.emit("whoami")  # the fourth from this address
    assert [e["code"] for e in second.errors()] == ["rate_limited"]
    first.close()
    again = Tab(app, flask_test_client=browser(app, "192.0.2.1"))
    assert not again.emit("whoami")  # reconnecting does not reset it
    elsewhere = Tab(app, flask_test_client=browser(app, "198.51.100.7"))
    assert elsewhere.emit("whoami") == {"user": None}
    for tab in (second, again, elsewhere):
        tab.close()


def test_a_signed_in_persons_sockets_share_one_budget(app, make_user):
    app.config["SOCKET_EVENT_LIMIT"] = "2 per minute"
    make_user(email="sam@example.org", name="Sam")
    make_user(email="kim@example.org", name="Kim")
    tabs = {}
    for name, email, address in (
        ("phone", "sam@example.org", "192.0.2.1"),
        ("laptop", "sam@example.org", "198.51.100.7"),
        ("neighbor", "kim@example.org", "192.0.2.1"),
    ):
        client = browser(app, address)
        AuthActions(client).login(email)
        tabs[name] = Tab(app, flask_test_client=client)
    assert tabs["phone"].emit("whoami") == {"user": "Sam"}
    assert tabs["laptop"].emit("whoami") == {"user": "Sam"}
    assert not tabs["laptop"].emit("whoami")
    assert not tabs["phone"].emit("whoami")  # another address, the same person
    assert tabs["neighbor"].emit("whoami") == {"user": "Kim"}  # the same address
    for tab in tabs.values():
        tab.close()


# --- sockets opened with a token ---


def test_revoking_a_token_closes_its_sockets_only(app, client, auth, make_user):
    user = make_user(email="sam@example.org", name="Sam")
    token, secret = create_token(user, "script")
    _other, other_secret = create_token(user, "other script")
    script = Tab(app, headers={"Authorization": f"Bearer {secret}"})
    other = Tab(app, headers={"Authorization": f"Bearer {other_secret}"})
    auth.login(user.email)
    page = Tab(app, flask_test_client=client)
    assert script.emit("whoami") == {"user": "Sam"}
    revoked = client.post(
        f"/auth/tokens/{token.id}/revoke",
        data={"csrf_token": csrf_token(client, "/auth/profile")},
    )
    assert revoked.status_code == 302
    assert not script.connected()
    assert other.connected() and page.connected()
    page.close()
    other.close()


def test_revoking_a_token_over_the_api_closes_its_sockets(app, make_user):
    user = make_user(email="sam@example.org", name="Sam")
    token, secret = create_token(user, "script")
    _other, other_secret = create_token(user, "other script")
    script = Tab(app, "/forums", headers={"Authorization": f"Bearer {secret}"})
    answer = app.test_client().delete(
        f"/api/v1/me/tokens/{token.id}",
        headers={"Authorization": f"Bearer {other_secret}"},
    )
    assert answer.status_code == 204
    assert not script.connected()
