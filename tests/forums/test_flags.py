"""Flags: once per resident, with a reason; three hold a post for review."""

import json

import pytest
from flask_socketio import SocketIOTestClient

from portal.extensions import db, socketio
from portal.forums import services
from portal.forums.models import PostFlag
from tests.conftest import csrf_token


@pytest.fixture
def post(make_area, make_user):
    area = make_area("Fishtown")
    author = make_user(email="author@example.org", name="Author")
    thread = services.create_thread(author, area, "Thread", "Buy cheap pills")
    return services.list_posts(thread).items[0]


def flag(client, post_id, **body):
    token = csrf_token(client, "/auth/profile")
    return client.post(
        f"/api/v1/posts/{post_id}/flags",
        data=json.dumps({"reason": "spam", **body}),
        headers={"Content-Type": "application/json", "X-CSRFToken": token},
    )


def test_three_flags_hold_a_post_and_residents_stop_seeing_it(
    app, client, auth, make_user, post
):
    reader = SocketIOTestClient(app, socketio, namespace="/forums")
    reader.emit("join", {"thread": post.thread_id}, namespace="/forums")
    reader.get_received("/forums")
    for number in range(3):
        make_user(email=f"f{number}@example.org")
        auth.login(f"f{number}@example.org")
        answer = flag(client, post.id)
        assert answer.status_code == 201
        assert answer.get_json() == {"post": post.id, "held": number == 2}
        auth.logout()
    db.session.refresh(post)
    assert post.held and post.hidden_at is not None
    [hidden] = [e for e in reader.get_received("/forums") if e["name"] == "post_hidden"]
    assert hidden["args"][0]["id"] == post.id
    page = client.get(f"/forums/threads/{post.thread_id}").data.decode()
    assert "Buy cheap pills" not in page and "hidden by a moderator" in page
    auth.login("author@example.org")
    own = client.get(f"/forums/threads/{post.thread_id}").data.decode()
    assert "Held for review" in own
    reader.disconnect(namespace="/forums")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"reason": "rude"}, 422, "reason"),
        ({"reason": "other"}, 422, "text"),
        ({"reason": "other", "text": "x" * 501}, 422, "text"),
    ],
)
def test_bad_flags_name_the_field(client, auth, make_user, post, body, status, field):
    make_user(email="f@example.org")
    auth.login("f@example.org")
    answer = flag(client, post.id, **body)
    assert answer.status_code == status
    assert field in answer.get_json()["error"]["fields"]
    assert db.session.query(PostFlag).count() == 0


def test_one_flag_each_and_never_ones_own(client, auth, make_user, post):
    make_user(email="f@example.org")
    auth.login("f@example.org")
    assert flag(client, post.id).status_code == 201
    assert flag(client, post.id).status_code == 409
    auth.logout()
    auth.login("author@example.org")
    assert flag(client, post.id).status_code == 409
    assert flag(client, 424242).status_code == 404
    assert db.session.query(PostFlag).count() == 1


def test_flagging_from_the_page(client, auth, make_user, post):
    make_user(email="f@example.org")
    auth.login("f@example.org")
    page = client.get(f"/forums/threads/{post.thread_id}").data.decode()
    assert f'action="/forums/posts/{post.id}/flag"' in page
    token = csrf_token(client, f"/forums/threads/{post.thread_id}")
    answer = client.post(
        f"/forums/posts/{post.id}/flag",
        data={"csrf_token": token, "reason": "abuse"},
        follow_redirects=True,
    )
    assert "a moderator will look at this post" in answer.data.decode()
    assert db.session.query(PostFlag).one().reason == "abuse"
