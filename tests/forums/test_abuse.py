"""Abuse limits: posting rate limits (stricter for new accounts), held first posts,
socket event limits, and sockets closed at logout."""

from datetime import timedelta

import pytest
from flask_socketio import SocketIOTestClient

from portal.auth.services import create_token
from portal.dbtypes import utcnow
from portal.extensions import db, socketio
from portal.forums import moderation, review, services
from tests.conftest import csrf_token


@pytest.fixture
def app_overrides():
    return {
        "FORUM_POST_LIMIT": "5 per minute",
        "FORUM_POST_LIMIT_NEW": "2 per minute",
        "FORUM_HOLD_FIRST_POSTS": 2,
        "SOCKET_EVENT_LIMIT": "5 per minute",
    }


@pytest.fixture
def thread(make_area, make_user):
    starter = make_user("moderator", None, "starter@example.org", name="Starter")
    return services.create_thread(starter, make_area("Fishtown"), "Block party", "Hi")


def bearer(user) -> dict:
    _, secret = create_token(user, "test")
    return {"Authorization": f"Bearer {secret}"}


def age(user, days: int) -> None:
    user.created_at = utcnow() - timedelta(days=days)
    db.session.commit()


def reply(client, thread, headers, text="Me too"):
    return client.post(
        f"/api/v1/threads/{thread.id}/posts", json={"body": text}, headers=headers
    )


def test_new_accounts_post_less_often_and_get_a_429_that_says_why(
    client, make_user, thread
):
    newcomer = make_user(email="new@example.org")
    regular = make_user(email="old@example.org")
    age(regular, 30)
    new_headers, old_headers = bearer(newcomer), bearer(regular)
    assert [reply(client, thread, new_headers).status_code for _ in range(3)] == [
        201,
        201,
        429,
    ]
    refused = reply(client, thread, new_headers).get_json()["error"]
    assert refused["code"] == "too_many_requests"
    assert "faster than the forum allows" in refused["message"]
    codes = [reply(client, thread, old_headers).status_code for _ in range(6)]
    assert codes == [201] * 5 + [429]


def test_the_page_form_shares_the_budget(client, auth, make_user, thread):
    make_user(email="new@example.org")
    auth.login("new@example.org")
    token = csrf_token(client, f"/forums/threads/{thread.id}")
    codes = [
        client.post(
            f"/forums/threads/{thread.id}", data={"body": "Hi", "csrf_token": token}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [302, 302, 429]


def test_a_new_accounts_first_posts_wait_for_a_moderator(
    app, client, auth, make_user, thread
):
    newcomer = make_user(email="new@example.org", name="Newcomer")
    age(newcomer, 0)
    reader = SocketIOTestClient(app, socketio, namespace="/forums")
    reader.emit("join", {"thread": thread.id}, namespace="/forums", callback=True)
    reader.get_received("/forums")
    answer = reply(client, thread, bearer(newcomer), "Selling cheap watches")
    assert answer.status_code == 201 and answer.get_json()["held"] is True
    assert reader.get_received("/forums") == []  # nobody was shown it
    page = client.get(f"/forums/threads/{thread.id}").data.decode()
    assert "cheap watches" not in page
    starter = thread.author
    queue = review.review_queue(starter).items
    assert [item.post.id for item in queue] == [answer.get_json()["id"]]
    outcome = moderation.moderate_post(starter, queue[0].post.id, "approve")
    assert outcome.announce == ["post_updated"]
    assert "cheap watches" in client.get(f"/forums/threads/{thread.id}").data.decode()
    second = services.reply(newcomer, thread.id, "Second")
    assert second.held  # one approved so far, two are held
    moderation.moderate_post(starter, second.id, "approve")
    assert not services.reply(newcomer, thread.id, "Third").held
    veteran = make_user(email="x@example.org")
    age(veteran, 30)  # an older account's first post is not held
    assert not services.reply(veteran, thread.id, "x").held


def test_socket_events_are_rate_limited_per_person(app, thread):
    socket = SocketIOTestClient(app, socketio, namespace="/forums")
    answers = [
        socket.emit("join", {"thread": thread.id}, namespace="/forums", callback=True)
        for _ in range(7)
    ]
    assert [bool(answer) for answer in answers] == [True] * 5 + [False] * 2
    errors = [e for e in socket.get_received("/forums") if e["name"] == "error"]
    assert [e["args"][0]["code"] for e in errors] == ["rate_limited"] * 2
    # The budget is a person's (an anonymous one's is its address's): not others'.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    other = SocketIOTestClient(
        app, socketio, namespace="/forums", flask_test_client=elsewhere
    )
    assert other.emit("join", {"thread": thread.id}, namespace="/forums", callback=True)
    socket.disconnect(namespace="/forums")
    other.disconnect(namespace="/forums")


def test_signing_out_closes_that_logins_sockets_only(app, make_user, thread):
    make_user(email="sam@example.org")
    phone, laptop = app.test_client(), app.test_client()
    sockets = {}
    for name, browser in (("phone", phone), ("laptop", laptop)):
        token = csrf_token(browser)
        browser.post(
            "/auth/login",
            data={
                "email": "sam@example.org",
                "password": "correct horse battery",
                "csrf_token": token,
            },
        )
        with app.app_context():
            sockets[name] = SocketIOTestClient(
                app, socketio, namespace="/forums", flask_test_client=browser
            )
    phone.post("/auth/logout", data={"csrf_token": csrf_token(phone, "/")})
    assert not sockets["phone"].is_connected("/forums")
    assert sockets["laptop"].is_connected("/forums")
    sockets["laptop"].disconnect(namespace="/forums")


def test_a_silenced_socket_session_cannot_sneak_posts_in(client, make_user, thread):
    """Writing is HTTP only; a silenced account is refused there whatever it holds."""
    member = make_user(email="m@example.org")
    member.silenced_until, member.silence_reason = utcnow() + timedelta(hours=1), "x"
    db.session.commit()
    answer = reply(client, thread, bearer(member))
    assert answer.status_code == 403


def test_a_socket_opened_with_a_token_works_and_closes_on_suspension(
    app, make_user, thread
):
    member = make_user(email="script@example.org", name="Script")
    token = bearer(member)
    with app.app_context():
        socket = SocketIOTestClient(app, socketio, headers=token)
        assert socket.emit("whoami", callback=True) == {"user": "Script"}
    moderation.moderate_user(
        thread.author, member.id, "suspend", "Bot", utcnow() + timedelta(days=1)
    )
    from portal.sockets import close_user_sockets

    assert close_user_sockets(member.id) == 1
    assert not socket.is_connected()
