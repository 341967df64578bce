"""Socket.IO: the connection carries the login session of the page."""

from flask_socketio import SocketIOTestClient

from portal.extensions import socketio


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
