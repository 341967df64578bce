"""Issue 12, item 3: what a role x action walk let through. The edit form, quotes, a
member's moderation page, the thread page, the API and socket rooms all ask one rule
(portal.forums.visibility), so each viewer reads exactly the same text everywhere."""

import re

import pytest
from flask_socketio import SocketIOTestClient
from sqlalchemy import func, select

from portal.auth.models import User
from portal.auth.services import create_token
from portal.dbtypes import utcnow
from portal.extensions import db, socketio
from portal.forums import moderation, notify, review, services, visibility
from portal.forums.models import Post, Thread
from portal.forums.sockets import ForumsNamespace
from tests.conftest import AuthActions, csrf_token

NAMESPACE = "/forums"
WORDS = {
    "first": "Open words",
    "hidden": "Hidden words",
    "held": "Held words",
    "deleted": "Deleted words",
    "unlisted": "Unlisted words",
    "removed": "Removed words",
}


@pytest.fixture
def world(make_area, make_user):
    """A Fishtown thread with an open, a hidden, a held and a deleted post; an
    unlisted and a deleted Fishtown thread; moderators of both areas and the site."""
    fishtown = make_area("Fishtown")
    kensington = make_area("Kensington", bounds=(-75.13, 39.98, -75.10, 40.00))
    author = make_user(email="author@example.org", name="Author")
    people = {
        "author": author,
        "resident": make_user(email="resident@example.org", name="Resident"),
        "mod": make_user("moderator", fishtown, "mod@example.org", name="Fish Mod"),
        "other_mod": make_user("moderator", kensington, "kmod@example.org"),
        "site_mod": make_user("moderator", None, "smod@example.org", name="Site"),
    }
    thread = services.create_thread(author, fishtown, "Dumping", WORDS["first"])
    posts = {"first": services.list_posts(thread).items[0]}
    for name in ("hidden", "held", "deleted"):
        posts[name] = services.reply(author, thread.id, WORDS[name])
    moderation.moderate_post(people["mod"], posts["hidden"].id, "hide", "Rude")
    held = posts["held"]
    held.held, held.hidden_at, held.hidden_reason = True, utcnow(), "Flagged"
    services.delete_post(author, posts["deleted"].id)
    secret = services.create_thread(author, fishtown, "Secret plans", WORDS["unlisted"])
    moderation.moderate_thread(people["mod"], secret.id, "unlist")
    gone = services.create_thread(author, fishtown, "Removed topic", WORDS["removed"])
    moderation.moderate_thread(people["mod"], gone.id, "delete", "Spam")
    posts["unlisted"] = services.list_posts(secret).items[0]
    posts["removed"] = services.list_posts(gone).items[0]
    db.session.commit()
    return {"thread": thread, "posts": posts, "kensington": kensington, **people}


def signed_in(app, email):
    client = app.test_client()
    AuthActions(client).login(email)
    return client


def bearer(user) -> dict:
    _, secret = create_token(user, "test")
    return {"Authorization": f"Bearer {secret}"}


def post_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Post))


# --- the rule itself, and everyone reading by it ---

READS = {
    None: {"first"},
    "resident": {"first"},
    "other_mod": {"first"},
    "author": {"first", "hidden", "held"},
    "mod": set(WORDS),
    "site_mod": set(WORDS),
}


@pytest.mark.parametrize("who", list(READS))
def test_each_viewer_reads_the_same_posts_on_page_api_and_by_the_rule(app, world, who):
    user = world[who] if who else None
    posts = world["posts"]
    readable = {
        name for name, post in posts.items() if visibility.may_read_post(user, post)
    }
    assert readable == READS[who]
    client = signed_in(app, user.email) if user else app.test_client()
    thread = world["thread"]
    page = client.get(f"/forums/threads/{thread.id}").data.decode()
    api = client.get(f"/api/v1/threads/{thread.id}").get_json()["posts"]
    for name in ("first", "hidden", "held", "deleted"):
        assert (WORDS[name] in page) is (name in READS[who]), name
        [shown] = [p for p in api if p["id"] == posts[name].id]
        assert bool(shown["html"]) is (name in READS[who]), name


def test_the_thread_rule_answers_the_same_in_sql_and_in_python(world, make_user):
    other = services.create_thread(world["author"], world["kensington"], "K", "k")
    moderation.moderate_thread(world["other_mod"], other.id, "unlist")
    viewers = [None, make_user("admin", None, "admin@example.org")]
    viewers += [
        world[k] for k in ("resident", "author", "mod", "other_mod", "site_mod")
    ]
    threads = list(db.session.scalars(select(Thread)))
    for viewer in viewers:
        in_sql = set(
            db.session.scalars(
                select(Thread.id).where(visibility.visible_threads(viewer))
            )
        )
        in_python = {t.id for t in threads if visibility.may_see_thread(viewer, t)}
        assert in_sql == in_python


# --- 1. the edit form ---

REFUSED_EDITS = [
    ("resident", "first", 403),
    ("resident", "hidden", 403),
    ("resident", "held", 403),
    ("resident", "deleted", 403),
    ("resident", "unlisted", 404),
    ("resident", "removed", 404),
    ("other_mod", "hidden", 403),
    ("other_mod", "unlisted", 404),
    ("author", "deleted", 403),
    ("author", "unlisted", 404),
    ("mod", "deleted", 403),
]


@pytest.mark.parametrize(("who", "target", "status"), REFUSED_EDITS)
def test_the_edit_form_is_only_for_who_may_edit_text_they_may_read(
    app, world, who, target, status
):
    client = signed_in(app, world[who].email)
    path = f"/forums/posts/{world['posts'][target].id}/edit"
    form = client.get(path)
    assert form.status_code == status
    assert WORDS[target] not in form.data.decode()
    token = csrf_token(client, "/auth/profile")
    # A refused save must not show the form (and its source) either.
    sent = client.post(path, data={"csrf_token": token, "body": ""})
    assert sent.status_code == status
    assert WORDS[target] not in sent.data.decode()


@pytest.mark.parametrize(
    ("who", "target"),
    [("author", "first"), ("author", "hidden"), ("author", "held"),
     ("mod", "hidden"), ("mod", "unlisted"), ("site_mod", "removed")],
)  # fmt: skip
def test_authors_and_the_areas_moderators_still_get_the_form(app, world, who, target):
    client = signed_in(app, world[who].email)
    form = client.get(f"/forums/posts/{world['posts'][target].id}/edit")
    assert form.status_code == 200 and WORDS[target] in form.data.decode()


# --- 2. quotes ---

UNQUOTABLE = ["hidden", "held", "deleted", "unlisted", "removed"]
QUOTERS = ["resident", "author", "mod", "site_mod"]


@pytest.mark.parametrize("who", QUOTERS)
@pytest.mark.parametrize("target", [*UNQUOTABLE, "missing"])
def test_the_api_quotes_only_text_every_reader_sees(client, world, who, target):
    quoted = world["posts"][target].id if target != "missing" else 999_999
    before = post_count()
    answer = client.post(
        f"/api/v1/threads/{world['thread'].id}/posts",
        json={"body": "Me too", "quote": quoted},
        headers=bearer(world[who]),
    )
    assert answer.status_code == 422, answer.get_json()
    assert "quote" in answer.get_json()["error"]["fields"]
    assert post_count() == before


@pytest.mark.parametrize("who", QUOTERS)
@pytest.mark.parametrize("target", UNQUOTABLE)
def test_the_page_quotes_only_text_every_reader_sees(app, world, who, target):
    client = signed_in(app, world[who].email)
    path = f"/forums/threads/{world['thread'].id}"
    quoted = world["posts"][target].id
    offered = client.get(f"{path}?quote={quoted}")
    assert offered.status_code == 422
    assert f'name="quote" value="{quoted}"' not in offered.data.decode()
    token = csrf_token(client, path)
    before = post_count()
    sent = client.post(
        path, data={"csrf_token": token, "body": "Me too", "quote": quoted}
    )
    assert sent.status_code == 422 and "cannot be quoted" in sent.data.decode()
    assert post_count() == before


def test_open_posts_are_quoted_alike_by_page_and_api(app, world):
    thread, first = world["thread"], world["posts"]["first"]
    answer = app.test_client().post(
        f"/api/v1/threads/{thread.id}/posts",
        json={"body": "By API", "quote": first.id},
        headers=bearer(world["resident"]),
    )
    assert answer.status_code == 201 and "Open words" in answer.get_json()["html"]
    client = signed_in(app, "resident@example.org")
    path = f"/forums/threads/{thread.id}"
    offered = client.get(f"{path}?quote={first.id}").data.decode()
    assert f'name="quote" value="{first.id}"' in offered
    token = csrf_token(client, path)
    sent = client.post(
        path, data={"csrf_token": token, "body": "By page", "quote": first.id}
    )
    assert sent.status_code == 302
    [mine] = db.session.scalars(select(Post).where(Post.source.contains("By page")))
    assert mine.source.startswith("Author wrote:\n> Open words")


def test_no_quote_link_for_what_cannot_be_quoted(app, world):
    page = (
        signed_in(app, "mod@example.org")
        .get(f"/forums/threads/{world['thread'].id}")
        .data.decode()
    )
    offered = {int(found) for found in re.findall(r"quote=(\d+)", page)}
    assert offered == {world["posts"]["first"].id}


# --- 3. a member's moderation page ---


def test_a_members_page_lists_only_threads_the_moderator_may_see(app, world):
    author = world["author"]
    other = signed_in(app, "kmod@example.org").get(f"/moderation/users/{author.id}")
    assert other.status_code == 200
    assert "Dumping" in other.data.decode()
    assert "Secret plans" not in other.data.decode()
    assert "Removed topic" not in other.data.decode()
    own = signed_in(app, "mod@example.org").get(f"/moderation/users/{author.id}")
    assert "Secret plans" in own.data.decode() and "Removed topic" in own.data.decode()
    listed = review.member_posts(world["other_mod"], author)
    assert {post.thread.title for post in listed} == {"Dumping"}


# --- 4. socket rooms follow every change of a thread ---


def open_socket(app, thread_id, email=None):
    client = signed_in(app, email) if email else app.test_client()
    # Each socket event in its own app context, as on a server (g caches the user).
    with app.app_context():
        socket = SocketIOTestClient(
            app, socketio, namespace=NAMESPACE, flask_test_client=client
        )
        answer = socket.emit(
            "join", {"thread": thread_id}, namespace=NAMESPACE, callback=True
        )
    return socket, answer


def sid_of(socket) -> str:
    return socketio.server.manager.sid_from_eio_sid(socket.eio_sid, NAMESPACE)


def members(room: str) -> set[str]:
    return {sid for sid, _ in socketio.server.manager.get_participants(NAMESPACE, room)}


READERS = ["resident", "mod", "other_mod", "site_mod"]
SEQUENCES = [
    ([("move", "kensington"), ("unlist", None)], {"other_mod", "site_mod"}),
    ([("unlist", None), ("move", "kensington")], {"site_mod"}),
    ([("move", "kensington"), ("delete", None)], {"other_mod", "site_mod"}),
    ([("delete", None), ("move", "kensington"), ("restore", None)], {"site_mod"}),
    ([("move", "kensington")], set(READERS)),
]


def act(app, world, via, thread_id, action, area):
    if via == "api":
        answer = app.test_client().post(
            f"/api/v1/moderation/threads/{thread_id}",
            json={"action": action, "area": area, "reason": "Because"},
            headers=bearer(world["site_mod"]),
        )
        assert answer.status_code == 200, answer.get_json()
        return
    client = signed_in(app, "smod@example.org")
    token = csrf_token(client, "/auth/profile")
    answer = client.post(
        f"/moderation/threads/{thread_id}",
        data={"action": action, "area": area or "", "reason": "Because",
              "csrf_token": token},
    )  # fmt: skip
    assert answer.status_code == 303


@pytest.mark.parametrize("via", ["api", "page"])
@pytest.mark.parametrize(("steps", "stay"), SEQUENCES)
def test_rooms_are_judged_again_on_every_change_of_a_thread(
    app, world, via, steps, stay
):
    thread = world["thread"]
    sockets = {}
    for who in READERS:
        socket, answer = open_socket(app, thread.id, world[who].email)
        assert answer["thread"] == thread.id
        sockets[who] = socket
    for action, area in steps:
        act(app, world, via, thread.id, action, area)
    db.session.expire_all()
    stayed = {sid_of(sockets[who]) for who in stay}
    assert members(notify.room(thread.id)) == stayed
    moderators = {w for w in stay if services.can_moderate(world[w], thread.area)}
    assert members(notify.staff_room(thread.id)) == {
        sid_of(sockets[who]) for who in moderators
    }
    for socket in sockets.values():
        socket.get_received(NAMESPACE)
    notify.post_updated(world["posts"]["first"])  # a deleted thread takes no reply
    for who, socket in sockets.items():
        got = [e["name"] for e in socket.get_received(NAMESPACE)]
        assert got == (["post_updated"] if who in stay else []), who
        socket.disconnect(namespace=NAMESPACE)


def test_a_socket_taken_out_hears_that_the_thread_is_gone_and_not_where(app, world):
    thread = world["thread"]
    socket, _ = open_socket(app, thread.id, "mod@example.org")
    socket.get_received(NAMESPACE)
    act(app, world, "api", thread.id, "unlist", None)
    act(app, world, "api", thread.id, "move", "kensington")
    [first, last] = [e["args"][0] for e in socket.get_received(NAMESPACE)]
    assert first["unlisted"] is True and first["area"] == "fishtown"  # still theirs
    assert last["unlisted"] is True and last["area"] is None  # gone: not where to
    socket.disconnect(namespace=NAMESPACE)


def test_a_join_racing_an_unlist_does_not_stay_in_the_room(app, world, monkeypatch):
    """The join checks the thread, a moderator unlists it and judges the rooms, then
    the join enters the room: the join looks again and leaves."""
    thread_id, site_mod_id = world["thread"].id, world["site_mod"].id
    real_join = ForumsNamespace.join
    raced = []

    def join_after_an_unlist(self, room):
        if not raced:
            raced.append(room)
            moderator = db.session.get(User, site_mod_id)
            notify.announce(moderation.moderate_thread(moderator, thread_id, "unlist"))
        return real_join(self, room)

    monkeypatch.setattr(ForumsNamespace, "join", join_after_an_unlist)
    socket, answer = open_socket(app, thread_id, "resident@example.org")
    assert raced and not answer
    [error] = [e for e in socket.get_received(NAMESPACE) if e["name"] == "error"]
    assert error["args"][0]["code"] == "not_found"
    assert sid_of(socket) not in members(notify.room(thread_id))
    socket.disconnect(namespace=NAMESPACE)
