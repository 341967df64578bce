"""The forums' notifications: a thread's watchers of replies, an author of a reply to
their post, people named with @ (never one who cannot see the thread), authors of
moderators' decisions with the reason; each once, and never the actor."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.auth.services import create_token
from portal.dbtypes import utcnow
from portal.errors import Conflict, ValidationFailed
from portal.extensions import db
from portal.forums import flags, hearing, moderation, services, watching
from portal.forums.models import Post
from portal.notifications import services as notifications
from portal.notifications import watches
from portal.notifications.models import Notification, Watch
from portal.tickets.models import Ticket, TicketFollow
from tests.conftest import csrf_token
from tests.notifications.conftest import told


@pytest.fixture
def people(make_user, area):
    names = ("Ann", "Bo", "Cy", "Dee")
    return {
        name: make_user(email=f"{name.lower()}@example.org", name=name)
        for name in names
    }


@pytest.fixture
def mod(make_user, area):
    return make_user("moderator", area, "mod@example.org", name="Old City Mod")


def bearer(user) -> dict:
    _, secret = create_token(user, "t")
    return {"Authorization": f"Bearer {secret}"}


def kinds(user) -> list[str]:
    return [row.kind for row in told(user)]


def test_a_reply_tells_each_watcher_once_and_never_its_author(people, area):
    ann, bo, cy, dee = people.values()
    thread = services.create_thread(ann, area, "Broken light on 2nd", "Dark again")
    services.reply(bo, thread.id, "Same on my block")  # Bo watches from now on
    watching.set_watching(cy, thread.id, True)
    assert kinds(ann) == ["reply"] and kinds(bo) == [] and kinds(cy) == []
    post = services.reply(dee, thread.id, "Reported it")
    for person in (ann, bo, cy):
        [row] = told(person, "reply")[-1:]
        assert (row.item_type, row.item_id, row.actor_id) == (
            "thread",
            thread.id,
            dee.id,
        )
        assert row.dedupe_key.endswith(f"post-{post.id}")
        assert notifications.text_of(row) == "Dee replied in Broken light on 2nd"
    assert kinds(ann) == ["reply", "reply"] and kinds(dee) == []
    # The same post told again (an approval, a retry) adds nothing.
    assert hearing.post_written(post) == 0


def test_a_reply_quoting_my_post_is_one_reply_to_me(people, area):
    ann, bo, *_ = people.values()
    thread = services.create_thread(ann, area, "Tree down", "On Pine St")
    first = services.list_posts(thread).items[0]
    services.reply(bo, thread.id, "Crew is here", quote_id=first.id)
    [row] = told(ann)
    assert row.kind == "post_reply"
    assert notifications.text_of(row) == "Bo replied to your post in Tree down"


def test_a_mention_finds_a_name_with_spaces_any_case_once(make_user, people, area):
    ann, bo, cy, _dee = people.values()
    smith = make_user(email="as@example.org", name="Ann Smith")
    thread = services.create_thread(bo, area, "Block party", "Who brings chairs?")
    post = services.reply(cy, thread.id, "@ann smith, can you? And (@Bo) too.")
    [row] = told(smith)
    assert (row.kind, row.actor_id) == ("mention", cy.id)
    assert notifications.text_of(row) == "Cy mentioned you in Block party"
    assert told(ann) == []  # the longest name that fits is the one meant
    assert kinds(bo) == ["mention"]  # a watcher named in it: one row, the mention
    # Edited, naming Ann too: Ann hears now; nobody hears twice.
    services.edit_post(cy, post.id, "@ann smith, can you? And (@Bo) too. @Ann?")
    assert kinds(ann) == ["mention"] and len(told(smith)) == 1
    assert kinds(bo) == ["mention"]


def test_a_mention_of_nobody_is_refused_naming_the_body(client, people, area):
    ann, bo, *_ = people.values()
    thread = services.create_thread(ann, area, "Trash day", "Moved to Tuesday")
    answer = client.post(
        f"/api/v1/threads/{thread.id}/posts",
        json={"body": "Thanks @Zed Zebra!"},
        headers=bearer(bo),
    )
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert "Zed" in error["fields"]["body"]
    assert db.session.scalars(select(Post).where(Post.author_id == bo.id)).all() == []
    with pytest.raises(ValidationFailed) as refused:
        services.create_thread(bo, area, "Hi", "@Nobody here")
    assert refused.value.field == "body"


def test_what_is_not_a_mention(people, area):
    ann, bo, *_ = people.values()
    thread = services.create_thread(ann, area, "Contacts", "Who to call")
    text = (
        "Mail bo@example.org or see example.org/@Bo\n"
        "> @Zed wrote this long ago\n"
        "`@Zed` is code, and so is\n```\n@Zed\n```\nmeet @ 5pm"
    )
    services.reply(ann, thread.id, text)  # no name refused, nobody mentioned
    assert told(bo) == []


def test_a_shared_name_goes_to_the_one_in_the_thread_or_to_nobody(make_user, area):
    twins = [make_user(email=f"n{i}@example.org", name="Neighbor") for i in (1, 2)]
    ann = make_user(email="ann@example.org", name="Ann")
    thread = services.create_thread(ann, area, "Snow", "Shovels?")
    services.reply(ann, thread.id, "Asking @Neighbor")
    assert told(twins[0]) == [] and told(twins[1]) == []  # which one: nobody knows
    services.reply(twins[1], thread.id, "I have one")
    services.reply(ann, thread.id, "Thanks @neighbor!")
    assert told(twins[0]) == []
    assert "mention" in kinds(twins[1])


def test_nobody_hears_of_a_thread_they_cannot_see(make_user, people, mod, area):
    ann, bo, *_ = people.values()
    other_mod = make_user("moderator", area, "mod2@example.org", name="Second Mod")
    thread = services.create_thread(ann, area, "Noisy bar", "Every night")
    services.reply(bo, thread.id, "Agreed")
    moderation.moderate_thread(mod, thread.id, "unlist")
    services.reply(mod, thread.id, "Moving this: @Bo and @Second Mod, see the log")
    assert [r.kind for r in told(bo)] == []  # named, watching, but cannot see it
    assert kinds(other_mod) == ["mention"]
    assert kinds(ann) == ["reply", "thread_unlisted"]  # Bo's reply, not the mod's


def test_a_thread_that_becomes_hidden_leaves_the_lists(people, mod, area):
    ann, bo, *_ = people.values()
    thread = services.create_thread(ann, area, "Potholes", "Big ones")
    services.reply(bo, thread.id, "Huge")
    assert notifications.unread_count(ann) == 1
    moderation.moderate_thread(mod, thread.id, "delete", "Spam thread")
    assert [row.kind for row in told(ann)] == ["reply", "thread_removed"]
    assert notifications.unread_count(ann) == 1  # the reply is gone from the bell
    rows, _next = notifications.recent(ann)
    # What is left is the decision about her thread, which she may still read.
    assert [row.kind for row in rows] == ["thread_removed"]
    assert notifications.text_of(rows[0]) == (
        "A moderator removed your thread Potholes. Reason: Spam thread"
    )
    assert rows[0].actor_id == mod.id and told(mod) == []


def test_moderators_decisions_reach_the_author_with_the_reason(people, mod, area):
    ann, bo, *_ = people.values()
    thread = services.create_thread(ann, area, "Dogs off leash", "In the park")
    post = services.reply(bo, thread.id, "Rude words here")
    moderation.moderate_post(mod, post.id, "hide", "Personal attack")
    with pytest.raises(Conflict):  # asked again: nothing changes, nobody told again
        moderation.moderate_post(mod, post.id, "hide", "Personal attack")
    moderation.moderate_post(mod, post.id, "restore")
    assert kinds(bo) == ["post_hidden", "post_restored"]
    hidden = told(bo, "post_hidden")[0]
    assert hidden.actor_id == mod.id and hidden.item_type == "moderation"
    assert notifications.text_of(hidden) == (
        "A moderator hid your post in Dogs off leash. Reason: Personal attack"
    )
    assert told(mod) == []
    # Restored, the reply is news to the thread's watchers once, as it was before.
    assert kinds(ann) == ["reply"]


def test_a_suspension_tells_the_account_until_when_and_why(make_user, people):
    bo = people["Bo"]
    site = make_user("moderator", None, "site@example.org", name="Site Mod")
    until = utcnow() + timedelta(days=3)
    moderation.moderate_user(site, bo.id, "suspend", "Spam links", until)
    moderation.moderate_user(site, bo.id, "restore")
    suspended, restored = told(bo)
    assert (suspended.kind, restored.kind) == ("account_suspended", "account_restored")
    text = notifications.text_of(suspended)
    assert text.startswith("A moderator suspended your account until ")
    assert text.endswith("Reason: Spam links")
    # Told by email at once: a suspended account cannot sign in to read it.
    assert suspended.email_now


def test_a_post_held_by_reports_tells_its_author_in_words(app, make_user, people, area):
    app.config["FORUM_FLAG_THRESHOLD"] = 2
    ann, bo, cy, dee = people.values()
    thread = services.create_thread(ann, area, "Yard sale", "Saturday")
    post = services.reply(bo, thread.id, "Buy my stuff at spam.example")
    flags.flag_post(cy, post.id, "spam")
    assert told(bo) == []
    flags.flag_post(dee, post.id, "off_topic")
    [row] = told(bo)
    assert (row.kind, row.actor_id) == ("post_held", None)  # reporters stay unnamed
    assert notifications.text_of(row).endswith(": Off topic, Spam")


def test_a_held_first_post_is_told_once_a_moderator_approves_it(
    app, make_user, people, mod, area
):
    app.config["FORUM_HOLD_FIRST_POSTS"] = 1
    ann = people["Ann"]
    thread = services.create_thread(mod, area, "Welcome", "Say hi")
    watching.set_watching(ann, thread.id, True)
    newcomer = make_user(email="new@example.org", name="Newcomer")
    post = services.reply(newcomer, thread.id, "Hi all, @Ann")
    assert post.held and told(ann) == []  # waiting: nobody reads it yet
    moderation.moderate_post(mod, post.id, "approve")
    assert kinds(ann) == ["mention"]
    assert kinds(newcomer) == ["post_approved"]
    assert told(ann)[0].actor_id == newcomer.id


def test_watch_and_unwatch_buttons_and_an_unwatch_that_holds(
    client, auth, people, area
):
    ann, bo, cy, _ = people.values()
    thread = services.create_thread(ann, area, "Garden", "Volunteers?")
    path = f"/forums/threads/{thread.id}"
    auth.login("bo@example.org")
    token = csrf_token(client, path)
    assert "Watch this thread" in client.get(path).data.decode()
    refused = client.post(f"{path}/watch")  # no CSRF token: refused
    assert refused.status_code == 400 and not watching.is_watching(bo, thread)
    client.post(f"{path}/watch", data={"csrf_token": token})
    assert watching.is_watching(bo, thread)
    assert "Stop watching" in client.get(path).data.decode()
    client.post(f"{path}/watch", data={"csrf_token": token, "action": "unwatch"})
    assert not watching.is_watching(bo, thread)
    services.reply(bo, thread.id, "I can help")  # replying keeps the Unwatch
    assert not watching.is_watching(bo, thread)
    services.reply(cy, thread.id, "Me too")
    assert told(bo) == []
    answer = client.post(
        f"/api/v1/threads/{thread.id}/watch", json={"watch": True}, headers=bearer(bo)
    )
    assert answer.get_json() == {"thread": thread.id, "watching": True}
    missing = client.post("/api/v1/threads/999999/watch", json={}, headers=bearer(bo))
    assert missing.status_code == 404


def test_a_notification_opens_on_the_post_and_the_page_marks_it_read(
    client, auth, people, area
):
    ann, bo, *_ = people.values()
    thread = services.create_thread(ann, area, "Lights", "Out")
    answer = client.post(
        f"/api/v1/threads/{thread.id}/posts",
        json={"body": "Fixed tonight"},
        headers=bearer(bo),
    )
    post_id = answer.get_json()["id"]
    [row] = told(ann)
    assert row.url == f"/forums/posts/{post_id}"
    landed = client.get(row.url)
    assert landed.status_code == 302
    assert landed.location.endswith(
        f"/forums/threads/{thread.id}?page=1#post-{post_id}"
    )
    auth.login("ann@example.org")
    assert notifications.unread_count(ann) == 1
    client.get(f"/forums/threads/{thread.id}")
    assert notifications.unread_count(ann) == 0


def test_a_ticket_thread_is_watched_by_following_the_ticket(people, area):
    ann, bo, cy, _ = people.values()
    ticket = Ticket(
        service_code="SBX-SD", service_name="Street Defect", status="open",
        lat=39.95, lon=-75.15, area=area, address="200 Market St",
    )  # fmt: skip
    db.session.add(ticket)
    db.session.commit()
    db.session.add(TicketFollow(ticket_id=ticket.id, user_id=ann.id))
    db.session.commit()
    thread = services.ticket_thread(ticket)
    services.reply(bo, thread.id, "Still broken")
    assert kinds(ann) == ["reply"]
    # Replying in it follows the ticket: one list of people for both pages.
    assert db.session.get(TicketFollow, (ticket.id, bo.id)) is not None
    assert db.session.scalars(select(Watch)).all() == []
    watching.set_watching(cy, thread.id, True)
    assert db.session.get(TicketFollow, (ticket.id, cy.id)) is not None
    services.reply(ann, thread.id, "Called again")
    assert kinds(bo) == ["reply"] and kinds(cy) == ["reply"]
    watching.set_watching(cy, thread.id, False)
    assert db.session.get(TicketFollow, (ticket.id, cy.id)) is None


def test_starting_a_thread_watches_it_and_tells_no_one_else(people, area):
    ann = people["Ann"]
    thread = services.create_thread(ann, area, "Hello", "First post")
    assert watches.is_watching(ann, "thread", thread.id)
    assert db.session.scalars(select(Notification)).all() == []
