"""Forum rules and pages: threads, replies, quotes, edits with history, deletion,
and the thread of each ticket with its system posts."""

from datetime import timedelta

import pytest

from portal.dbtypes import utcnow
from portal.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from portal.extensions import db
from portal.forums import services
from portal.forums.models import Post, Thread
from portal.tickets.models import Ticket
from portal.tickets.services import is_following, record
from tests.conftest import csrf_token


@pytest.fixture
def area(make_area):
    return make_area("Fishtown")


@pytest.fixture
def alice(make_user, area):
    return make_user(email="alice@example.org", name="Alice")


@pytest.fixture
def bob(make_user, area):
    return make_user(email="bob@example.org", name="Bob")


def test_a_thread_and_its_replies(alice, bob, area):
    thread = services.create_thread(alice, area, "  Broken   light ", "It is **dark**")
    assert thread.title == "Broken light" and thread.post_count == 1
    post = services.reply(bob, thread.id, "Same here")
    assert post.html == "<p>Same here</p>" and thread.post_count == 2
    [first, _reply] = services.list_posts(thread).items
    assert first.html == "<p>It is <strong>dark</strong></p>"


@pytest.mark.parametrize(
    ("title", "body", "field"),
    [("", "x", "title"), ("t" * 201, "x", "title"), ("ok", " ", "body"),
     ("ok", "b" * 20_001, "body")],
)  # fmt: skip
def test_bad_threads_name_the_field_and_store_nothing(alice, area, title, body, field):
    with pytest.raises(ValidationFailed) as error:
        services.create_thread(alice, area, title, body)
    assert field in error.value.fields
    db.session.rollback()
    assert db.session.query(Thread).count() == 0


def test_signing_in_is_needed_to_write(area):
    with pytest.raises(PermissionDenied):
        services.create_thread(None, area, "t", "b")


def test_quoting_names_the_author(alice, bob, area):
    thread = services.create_thread(alice, area, "Trash day", "Line one\nLine two")
    first = services.list_posts(thread).items[0]
    post = services.reply(bob, thread.id, "Agreed", quote_id=first.id)
    assert post.source.startswith("Alice wrote:\n> Line one\n> Line two")
    assert "<blockquote>" in post.html


def test_a_locked_thread_takes_no_replies(alice, bob, area):
    thread = services.create_thread(alice, area, "t", "b")
    thread.locked = True
    db.session.commit()
    with pytest.raises(Conflict):
        services.reply(bob, thread.id, "late")


def test_edits_keep_their_history_and_only_the_author_edits(alice, bob, area):
    thread = services.create_thread(alice, area, "Old title", "old text")
    post = services.list_posts(thread).items[0]
    with pytest.raises(PermissionDenied):
        services.edit_post(bob, post.id, "mine now")
    services.edit_post(alice, post.id, "new text", title="New title")
    [revision] = post.revisions
    assert (revision.old_source, revision.new_source) == ("old text", "new text")
    assert (revision.old_title, revision.new_title) == ("Old title", "New title")
    assert revision.editor_id == alice.id and post.edited_at is not None
    assert thread.title == "New title" and post.html == "<p>new text</p>"


def test_the_author_deletes_within_the_window_only(alice, area):
    thread = services.create_thread(alice, area, "t", "b")
    recent = services.reply(alice, thread.id, "oops")
    services.delete_post(alice, recent.id)
    assert recent.deleted_at is not None
    old = services.reply(alice, thread.id, "old")
    old.created_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    with pytest.raises(Conflict):
        services.delete_post(alice, old.id)


def test_pinned_threads_come_first(alice, area):
    first = services.create_thread(alice, area, "first", "b")
    services.create_thread(alice, area, "second", "b")
    first.pinned = True
    db.session.commit()
    titles = [t.title for t in services.list_threads(None, area).items]
    assert titles == ["first", "second"]


def test_unlisted_and_deleted_threads_are_for_moderators(alice, area, make_user):
    thread = services.create_thread(alice, area, "t", "b")
    thread.unlisted = True
    db.session.commit()
    with pytest.raises(NotFound):
        services.visible_thread(alice, thread.id)
    moderator = make_user(role="moderator", area=area)
    assert services.visible_thread(moderator, thread.id) is thread
    assert services.list_threads(alice, area).items == []


def test_a_ticket_thread_tells_the_ticket_story(area):
    ticket = Ticket(
        service_code="SBX-SD", service_name="Street Defect", status="open",
        lat=39.97, lon=-75.13, area=area, address="1200 Frankford Ave",
        agency="Streets Department",
    )  # fmt: skip
    db.session.add(ticket)
    record(ticket, "status", "sync", notes="Crew sent.", old="open", new="in progress")
    db.session.commit()
    thread = services.ticket_thread(ticket)
    assert thread.title == "Street Defect: 1200 Frankford Ave"
    assert services.ticket_thread(ticket) is thread  # made once
    ticket.status = "closed"
    record(ticket, "status", "sync", notes="Case resolved.", old="open", new="closed")
    db.session.commit()
    posts = services.list_posts(thread).items
    assert [p.kind for p in posts] == ["system", "system"]
    assert posts[-1].source == (
        "The city closed this. Case resolved. — Streets Department"
    )


def test_the_pages(client, auth, alice, area):
    auth.login("alice@example.org")
    token = csrf_token(client, "/forums/fishtown/")
    answer = client.post(
        "/forums/fishtown/",
        data={"csrf_token": token, "title": "Hi", "body": "<script>x</script> *hey*"},
    )
    assert answer.status_code == 302
    page = client.get(answer.location).data.decode()
    assert "<em>hey</em>" in page and "<script>x" not in page
    empty = client.post("/forums/fishtown/", data={"csrf_token": token, "title": ""})
    assert (
        empty.status_code == 422 and "Give the thread a title." in empty.data.decode()
    )
    thread = db.session.query(Thread).one()
    reply = client.post(
        f"/forums/threads/{thread.id}", data={"csrf_token": token, "body": "again"}
    )
    assert reply.status_code == 302 and reply.location.endswith(
        f"#post-{db.session.query(Post).order_by(Post.id.desc()).first().id}"
    )
    assert (
        client.post(f"/forums/threads/{thread.id}", data={"body": "x"}).status_code
        == 400
    )
    assert client.get("/forums/threads/9999").status_code == 404


def test_editing_and_deleting_from_the_pages(client, auth, alice, bob, area):
    thread = services.create_thread(alice, area, "Title", "first text")
    post = services.list_posts(thread).items[0]
    auth.login("bob@example.org")
    token = csrf_token(client, f"/forums/threads/{thread.id}")
    refused = client.post(
        f"/forums/posts/{post.id}/edit", data={"csrf_token": token, "body": "bob's"}
    )
    assert refused.status_code == 403 and post.source == "first text"
    auth.logout()
    auth.login("alice@example.org")
    token = csrf_token(client, f"/forums/posts/{post.id}/edit")
    changed = client.post(
        f"/forums/posts/{post.id}/edit",
        data={"csrf_token": token, "body": "second text", "title": "Better title"},
    )
    assert changed.status_code == 302
    db.session.expire_all()
    assert post.source == "second text" and thread.title == "Better title"
    history = client.get(f"/forums/posts/{post.id}/edit").data.decode()
    assert "History" in history
    client.post(f"/forums/posts/{post.id}/delete", data={"csrf_token": token})
    page = client.get(f"/forums/threads/{thread.id}").data.decode()
    assert "This post was deleted." in page and "second text" not in page


def test_long_threads_are_paged_and_a_reply_lands_on_its_page(
    client, auth, alice, area
):
    thread = services.create_thread(alice, area, "Long", "first")
    for number in range(services.PAGE_SIZE):
        services.reply(alice, thread.id, f"reply {number}")
    first = client.get(f"/forums/threads/{thread.id}").data.decode()
    assert f'href="/forums/threads/{thread.id}?page=2"' in first
    assert "reply 29" not in first
    auth.login("alice@example.org")
    token = csrf_token(client, f"/forums/threads/{thread.id}")
    answer = client.post(
        f"/forums/threads/{thread.id}", data={"csrf_token": token, "body": "last"}
    )
    assert "page=2#post-" in answer.location
    assert "last" in client.get(answer.location).data.decode()


def test_following_from_a_ticket_thread_is_following_the_ticket(
    client, auth, alice, area
):
    ticket = Ticket(service_code="SBX-SD", status="open", lat=39.95, lon=-75.15)
    ticket.area = area
    db.session.add(ticket)
    db.session.commit()
    thread = services.ticket_thread(ticket)
    auth.login("alice@example.org")
    path = f"/forums/threads/{thread.id}"
    token = csrf_token(client, path)
    assert "Follow this request and its thread" in client.get(path).data.decode()
    answer = client.post(
        f"/tickets/{ticket.id}/follow", data={"csrf_token": token, "next": path}
    )
    assert answer.status_code == 302 and answer.location.endswith(path)
    assert is_following(alice, ticket)
    assert "Stop following" in client.get(path).data.decode()
