"""Moderator actions through the API and the pages: each works, lands in the audit
log, and is refused (403, nothing changed) to residents and other areas' moderators."""

from datetime import UTC, datetime, timedelta

import pytest
from flask_socketio import SocketIOTestClient
from sqlalchemy import func, select

from portal.auth.services import create_token
from portal.extensions import db, socketio
from portal.forums import flags, notify, services
from portal.forums.models import ModerationEntry, Post, Thread
from tests.conftest import csrf_token


@pytest.fixture
def world(make_area, make_user):
    """Two areas, a thread with a reply in Fishtown, and people with roles."""
    fishtown = make_area("Fishtown")
    kensington = make_area("Kensington", bounds=(-75.13, 39.98, -75.10, 40.00))
    author = make_user(email="author@example.org", name="Author")
    thread = services.create_thread(author, fishtown, "Dumping on Frankford", "Again")
    reply = services.reply(author, thread.id, "And a mattress too")
    people = {
        "resident": make_user(email="resident@example.org", name="Resident"),
        "mod": make_user("moderator", fishtown, "mod@example.org", name="Fish Mod"),
        "other_mod": make_user("moderator", kensington, "kmod@example.org"),
        "site_mod": make_user("moderator", None, "smod@example.org", name="Site Mod"),
        "admin": make_user("admin", None, "admin@example.org", name="Admin"),
        "captain": make_user("captain", fishtown, "cap@example.org"),
    }
    return {
        "fishtown": fishtown,
        "kensington": kensington,
        "author": author,
        "thread": thread,
        "reply": reply,
        **people,
    }


def api(client, user, path, **body):
    _, secret = create_token(user, "test")
    return client.post(
        "/api/v1/moderation" + path,
        json=body,
        headers={"Authorization": f"Bearer {secret}"},
    )


def log_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ModerationEntry))


def only_entry() -> ModerationEntry:
    [entry] = db.session.scalars(select(ModerationEntry))
    return entry


THREAD_CASES = [
    ("pin", {}, "pinned", True),
    ("lock", {}, "locked", True),
    ("unlist", {}, "unlisted", True),
    ("delete", {"reason": "Duplicate of #4"}, "deleted", True),
]


@pytest.mark.parametrize(("action", "extra", "key", "value"), THREAD_CASES)
def test_a_thread_action_and_its_reverse_are_logged(
    client, world, action, extra, key, value
):
    thread = world["thread"]
    answer = api(client, world["mod"], f"/threads/{thread.id}", action=action, **extra)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["before"][key] is (not value) and body["after"][key] is value
    entry = only_entry()
    assert (entry.actor_name, entry.action, entry.target_id) == (
        "Fish Mod",
        action,
        thread.id,
    )
    assert entry.reason == extra.get("reason")
    reverse = {"pin": "unpin", "lock": "unlock", "unlist": "relist"}
    back = reverse.get(action, "restore")
    answer = api(client, world["site_mod"], f"/threads/{thread.id}", action=back)
    assert answer.status_code == 200
    assert answer.get_json()["after"][key] is (not value)
    assert log_count() == 2
    again = api(client, world["mod"], f"/threads/{thread.id}", action=back)
    assert again.status_code == 409 and log_count() == 2


def test_moving_needs_a_moderator_of_both_areas(client, world):
    thread = world["thread"]
    path = f"/threads/{thread.id}"
    refused = api(client, world["mod"], path, action="move", area="kensington")
    assert refused.status_code == 403
    db.session.refresh(thread)
    assert thread.area.slug == "fishtown"
    moved = api(client, world["site_mod"], path, action="move", area="kensington")
    assert moved.status_code == 200
    assert moved.get_json()["before"]["area"] == "fishtown"
    assert moved.get_json()["after"]["area"] == "kensington"
    missing = api(client, world["site_mod"], path, action="move")
    assert (
        missing.status_code == 422 and "area" in missing.get_json()["error"]["fields"]
    )


ACTIONS = [
    ("threads", "thread", {"action": "lock"}),
    ("threads", "thread", {"action": "move", "area": "kensington"}),
    ("posts", "reply", {"action": "hide", "reason": "rude"}),
    ("posts", "reply", {"action": "delete", "reason": "rude"}),
    ("users", "author", {"action": "silence", "reason": "x", "until": "2030-01-01"}),
    ("users", "author", {"action": "suspend", "reason": "x"}),
]


@pytest.mark.parametrize("who", ["resident", "captain", "author", "other_mod"])
@pytest.mark.parametrize(("kind", "target", "body"), ACTIONS)
def test_residents_and_other_areas_get_403_and_nothing_changes(
    client, world, who, kind, target, body
):
    if body.get("until"):
        body = {**body, "until": "2030-01-01T00:00:00+00:00"}
    target_id = world[target].id
    answer = api(client, world[who], f"/{kind}/{target_id}", **body)
    assert answer.status_code == 403, answer.get_json()
    assert answer.get_json()["error"]["code"] == "forbidden"
    assert log_count() == 0
    db.session.expire_all()
    assert not db.session.get(Thread, world["thread"].id).locked
    assert db.session.get(Post, world["reply"].id).hidden_at is None
    assert world["author"].is_active and not world["author"].is_silenced


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/moderation/threads/{thread}", {"action": "pin"}),
        ("/moderation/posts/{reply}", {"action": "hide", "reason": "rude"}),
        ("/moderation/posts", {"action": "hide", "reason": "r", "post": "{reply}"}),
        ("/moderation/users/{author}", {"action": "suspend", "duration": "1d"}),
    ],
)
def test_the_pages_refuse_residents_too(client, auth, world, path, form):
    auth.login("resident@example.org")
    ids = {k: world[k].id for k in ("thread", "reply", "author")}
    form = {k: v.format(**ids) for k, v in form.items()}
    token = csrf_token(client, "/auth/profile")
    answer = client.post(path.format(**ids), data={**form, "csrf_token": token})
    assert answer.status_code == 403
    assert log_count() == 0
    assert client.get("/moderation/").status_code == 403
    assert client.get("/moderation/log").status_code == 403


def test_hiding_a_post_shows_whom_what(client, auth, world):
    reply = world["reply"]
    answer = api(client, world["mod"], f"/posts/{reply.id}", action="hide")
    assert answer.status_code == 422
    assert "reason" in answer.get_json()["error"]["fields"]
    answer = api(
        client, world["mod"], f"/posts/{reply.id}", action="hide", reason="Name-calling"
    )
    assert answer.status_code == 200
    assert answer.get_json()["after"]["hidden"] is True
    url = f"/forums/threads/{reply.thread_id}"
    assert "a mattress" not in client.get(url).data.decode()  # anonymous
    auth.login("resident@example.org")
    assert "a mattress" not in client.get(url).data.decode()
    auth.logout()
    auth.login("author@example.org")
    own = client.get(url).data.decode()
    assert "a mattress" in own and "Name-calling" in own
    auth.logout()
    auth.login("mod@example.org")
    assert "a mattress" in client.get(url).data.decode()
    restored = api(client, world["mod"], f"/posts/{reply.id}", action="restore")
    assert restored.status_code == 200 and log_count() == 2
    auth.logout()
    assert "a mattress" in client.get(url).data.decode()


def test_a_deleted_post_keeps_its_reason_and_its_text_for_moderators(
    client, auth, world
):
    reply = world["reply"]
    answer = api(
        client, world["mod"], f"/posts/{reply.id}", action="delete", reason="Doxxing"
    )
    assert answer.status_code == 200 and answer.get_json()["after"]["deleted"]
    url = f"/forums/threads/{reply.thread_id}"
    auth.login("author@example.org")
    own = client.get(url).data.decode()
    assert "Doxxing" in own and "a mattress" not in own
    auth.logout()
    auth.login("mod@example.org")
    assert "a mattress" in client.get(url).data.decode()
    again = api(client, world["mod"], f"/posts/{reply.id}", action="restore")
    assert again.status_code == 409


def flagged_by(make_user, post, count):
    for number in range(count):
        flagger = make_user(email=f"flag{post.id}-{number}@example.org")
        flags.flag_post(flagger, post.id, "abuse")


def test_the_queue_lists_flagged_and_held_posts_of_ones_areas(
    client, auth, world, make_user
):
    flagged_by(make_user, world["reply"], 1)
    first = services.list_posts(world["thread"]).items[0]
    flagged_by(make_user, first, 3)  # held
    elsewhere = services.create_thread(
        world["author"], world["kensington"], "Elsewhere", "Kensington words"
    )
    flagged_by(make_user, services.list_posts(elsewhere).items[0], 1)
    auth.login("mod@example.org")
    page = client.get("/moderation/").data.decode()
    assert "a mattress" in page and "Again" in page  # the held one, with its text
    assert "Kensington words" not in page
    assert "held:" in page and page.count("abuse") == 4
    auth.logout()
    auth.login("smod@example.org")
    assert "Kensington words" in client.get("/moderation/").data.decode()


def test_bulk_decisions_apply_to_all_or_none(client, auth, world, make_user):
    posts = [
        services.reply(world["author"], world["thread"].id, f"Spam {n}")
        for n in range(3)
    ]
    for post in posts:
        flagged_by(make_user, post, 1)
    elsewhere = services.create_thread(
        world["author"], world["kensington"], "Elsewhere", "Not yours"
    )
    foreign = services.list_posts(elsewhere).items[0]
    auth.login("mod@example.org")
    token = csrf_token(client, "/moderation/")
    form = {"action": "hide", "reason": "Spam", "csrf_token": token}
    ids = [str(post.id) for post in posts]
    refused = client.post(
        "/moderation/posts", data={**form, "post": [*ids, str(foreign.id)]}
    )
    assert refused.status_code == 403 and log_count() == 0
    done = client.post("/moderation/posts", data={**form, "post": ids})
    assert done.status_code == 303
    db.session.expire_all()
    assert all(db.session.get(Post, post.id).hidden_at for post in posts)
    assert log_count() == 3
    assert "Spam 1" not in client.get("/moderation/").data.decode()


def test_approve_and_dismiss(client, world, make_user):
    first = services.list_posts(world["thread"]).items[0]
    flagged_by(make_user, first, 3)
    flagged_by(make_user, world["reply"], 1)
    path = f"/posts/{first.id}"
    held = api(client, world["mod"], path, action="dismiss")
    assert held.status_code == 409  # a held post needs a decision
    approved = api(client, world["mod"], path, action="approve")
    assert approved.status_code == 200
    assert approved.get_json()["before"]["open_flags"] == 3
    assert approved.get_json()["after"] == {
        "hidden": False,
        "held": False,
        "deleted": False,
        "reason": None,
        "open_flags": 0,
    }
    dismissed = api(
        client, world["mod"], f"/posts/{world['reply'].id}", action="dismiss"
    )
    assert dismissed.status_code == 200
    assert dismissed.get_json()["after"]["open_flags"] == 0
    assert dismissed.get_json()["after"]["hidden"] is False
    nothing = api(client, world["mod"], f"/posts/{world['reply'].id}", action="dismiss")
    assert nothing.status_code == 409


def test_silence_stops_posting_until_restored(client, world):
    until = datetime.now(UTC) + timedelta(days=1)
    author, thread = world["author"], world["thread"]
    path = f"/users/{author.id}"
    bad = api(client, world["site_mod"], path, action="silence", reason="Cool off")
    assert bad.status_code == 422 and "until" in bad.get_json()["error"]["fields"]
    past = api(
        client,
        world["site_mod"],
        path,
        action="silence",
        reason="Cool off",
        until="2020-01-01T00:00:00+00:00",
    )
    assert past.status_code == 422
    area_mod = api(
        client,
        world["mod"],
        path,
        action="silence",
        reason="x",
        until=until.isoformat(),
    )
    assert area_mod.status_code == 403  # accounts are the site moderators' call
    done = api(
        client,
        world["site_mod"],
        path,
        action="silence",
        reason="Cool off",
        until=until.isoformat(),
    )
    assert done.status_code == 200 and done.get_json()["after"]["silenced_until"]
    _, secret = create_token(author, "mine")
    headers = {"Authorization": f"Bearer {secret}"}
    refused = client.post(
        f"/api/v1/threads/{thread.id}/posts", json={"body": "Hi"}, headers=headers
    )
    assert refused.status_code == 403
    assert "Cool off" in refused.get_json()["error"]["message"]
    assert api(client, world["site_mod"], path, action="restore").status_code == 200
    allowed = client.post(
        f"/api/v1/threads/{thread.id}/posts", json={"body": "Hi"}, headers=headers
    )
    assert allowed.status_code == 201


def test_suspension_ends_sessions_and_sockets_at_once(client, auth, world, app):
    author = world["author"]
    auth.login("author@example.org")
    socket = SocketIOTestClient(
        app, socketio, namespace="/forums", flask_test_client=client
    )
    assert socket.is_connected("/forums")
    until = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    answer = api(
        client,
        world["site_mod"],
        f"/users/{author.id}",
        action="suspend",
        reason="Threats",
        until=until,
    )
    assert answer.status_code == 200
    assert not socket.is_connected("/forums")
    assert client.get("/auth/profile").status_code == 302  # signed out
    login = auth.login("author@example.org")
    assert "suspended" in login.data.decode() and "Threats" in login.data.decode()


def test_only_admins_restrict_staff_and_nobody_themselves(client, world):
    until = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    body = {"action": "suspend", "reason": "x", "until": until}
    site_mod, admin = world["site_mod"], world["admin"]
    assert api(client, site_mod, f"/users/{world['mod'].id}", **body).status_code == 403
    assert api(client, site_mod, f"/users/{site_mod.id}", **body).status_code == 403
    assert api(client, admin, f"/users/{world['mod'].id}", **body).status_code == 200


def test_page_forms_do_each_kind_of_action(client, auth, world):
    auth.login("smod@example.org")
    token = csrf_token(client, "/moderation/")
    thread, reply, author = world["thread"], world["reply"], world["author"]
    pinned = client.post(
        f"/moderation/threads/{thread.id}", data={"action": "pin", "csrf_token": token}
    )
    assert pinned.status_code == 303
    hidden = client.post(
        f"/moderation/posts/{reply.id}",
        data={"action": "hide", "reason": "Rude", "csrf_token": token},
    )
    assert hidden.status_code == 303
    page = client.get(f"/moderation/users/{author.id}")
    assert page.status_code == 200 and "Dumping on Frankford" in page.data.decode()
    silenced = client.post(
        f"/moderation/users/{author.id}",
        data={
            "action": "silence",
            "duration": "3d",
            "reason": "Heat",
            "csrf_token": token,
        },
    )
    assert silenced.status_code == 303
    no_length = client.post(
        f"/moderation/users/{author.id}",
        data={"action": "silence", "reason": "Heat", "csrf_token": token},
    )
    assert no_length.status_code == 422 and "Choose how long" in no_length.data.decode()
    db.session.expire_all()
    assert db.session.get(Thread, thread.id).pinned
    assert db.session.get(Post, reply.id).hidden_reason == "Rude"
    assert author.is_silenced
    assert [e.action for e in db.session.scalars(select(ModerationEntry))] == [
        "pin",
        "hide",
        "silence",
    ]


def test_the_log_is_for_admins_and_filters(client, auth, world):
    thread = world["thread"]
    api(client, world["mod"], f"/threads/{thread.id}", action="lock")
    api(
        client,
        world["mod"],
        f"/posts/{world['reply'].id}",
        action="hide",
        reason="Rude",
    )
    auth.login("mod@example.org")
    assert client.get("/moderation/log").status_code == 403
    auth.logout()
    auth.login("admin@example.org")
    everything = client.get("/moderation/log").data.decode()
    assert "lock" in everything and "Rude" in everything and "Fish Mod" in everything
    hides = client.get("/moderation/log?action=hide").data.decode()
    assert "Rude" in hides and "<td>lock</td>" not in hides
    by_area = client.get("/moderation/log?area=kensington").data.decode()
    assert "No entries." in by_area
    future = client.get("/moderation/log?since=2099-01-01").data.decode()
    assert "No entries." in future
    bad = client.get("/moderation/log?since=yesterday")
    assert bad.status_code == 422 and "since" in bad.data.decode()
    assert client.get("/moderation/log?action=explode").status_code == 422


def test_live_pages_follow_thread_changes_and_lose_hidden_threads(
    app, client, auth, world
):
    thread = world["thread"]
    # Each socket in its own app context, as on a server (g caches the user).
    with app.app_context():
        reader = SocketIOTestClient(app, socketio, namespace="/forums")
        reader.emit("join", {"thread": thread.id}, namespace="/forums", callback=True)
    auth.login("mod@example.org")
    with app.app_context():
        staff = SocketIOTestClient(
            app, socketio, namespace="/forums", flask_test_client=client
        )
        staff.emit("join", {"thread": thread.id}, namespace="/forums", callback=True)
    api(client, world["mod"], f"/threads/{thread.id}", action="lock")
    [changed] = [
        e for e in reader.get_received("/forums") if e["name"] == "thread_changed"
    ]
    assert changed["args"][0]["locked"] is True
    api(client, world["mod"], f"/threads/{thread.id}", action="unlist")
    reader.get_received("/forums")
    staff.get_received("/forums")
    notify.post_created(services.reply(world["mod"], thread.id, "Moderators only"))
    assert reader.get_received("/forums") == []
    assert [e["name"] for e in staff.get_received("/forums")] == ["post_created"]
    reader.disconnect(namespace="/forums")
    staff.disconnect(namespace="/forums")


def test_a_resident_learns_nothing_from_a_bad_request(client, world):
    """Permission is checked before the reason: 403, not a field error."""
    answer = api(
        client, world["resident"], f"/posts/{world['reply'].id}", action="hide"
    )
    assert answer.status_code == 403
