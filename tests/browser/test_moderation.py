"""Forums and moderation in Chromium: a ticket closed by the sandbox city posts into
its open thread page; three flags make a post vanish live and land in the queue,
where a moderator decides; a suspension closes the member's live page within a
second."""

import random
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.areas.services import save_areas
from portal.auth.services import create_token
from portal.cityapi import get_city_api
from portal.demo.geography import demo_areas
from portal.extensions import db
from portal.forums import flags, services
from portal.sandbox import city as sandbox_city
from portal.sandbox.seed import seed
from portal.sandbox.store import CityRequest
from portal.tickets.city_services import refresh_services
from portal.tickets.models import Ticket
from portal.tickets.sync import pull_updates
from tests.browser.conftest import WAIT_MS
from tests.conftest import SANDBOX_KEY


@pytest.fixture
def app_overrides(sandbox_server):
    return {
        "CITY_URL": sandbox_server.endpoint,
        "CITY_API_KEY": SANDBOX_KEY,
        "CITY_TIMEOUT": 5.0,
        "CITY_SYNC_OVERLAP": 3600.0,
    }


def close_in_the_sandbox(store, public_id: str) -> None:
    """Tick the sandbox city (every request each time) until this one is closed."""
    for seed_value in range(50):
        sandbox_city.tick(store, random.Random(seed_value), share=1.0)
        with store.session() as session:
            row = session.scalar(
                select(CityRequest).where(CityRequest.public_id == public_id)
            )
            if row.status == "closed":
                return
    raise AssertionError("the sandbox never closed the request")


def test_a_ticket_closed_by_the_sandbox_city_posts_into_its_thread(
    page, sandbox_server
):
    save_areas(demo_areas())
    seed(sandbox_server.store, 40)
    refresh_services(get_city_api())
    pull_updates(get_city_api())
    ticket = db.session.scalar(
        select(Ticket)
        .where(Ticket.status == "open", Ticket.area_id.is_not(None))
        .order_by(Ticket.id)
    )
    page.goto(f"/forums/tickets/{ticket.id}")
    page.locator("body[data-live=yes]").wait_for(state="attached")
    expect(page.locator("#thread-ticket-status")).to_have_text("open")
    close_in_the_sandbox(sandbox_server.store, ticket.city_id)
    pull_updates(get_city_api())
    closing = page.locator("#posts .post-system", has_text="The city closed this.")
    closing.wait_for()
    expect(page.locator("#thread-ticket-status")).to_have_text("closed")
    db.session.refresh(ticket)
    assert ticket.status == "closed"
    assert ticket.status_notes in closing.inner_text()
    assert page.console_errors == []


@pytest.fixture
def forum(make_area, make_user):
    area = make_area("Fishtown")
    make_user("moderator", area, "mod@example.org", name="Mod")
    make_user(email="reader@example.org", name="Reader")
    author = make_user(email="author@example.org", name="Author")
    thread = services.create_thread(author, area, "Corner store", "Opening soon")
    post = services.reply(author, thread.id, "Buy followers at example dot com")
    return {"area": area, "author": author, "thread": thread, "post": post}


def test_flags_hide_a_post_live_and_the_queue_decides(signed_in, forum, make_user):
    thread, post = forum["thread"], forum["post"]
    reader = signed_in("reader@example.org")
    reader.goto(f"/forums/threads/{thread.id}")
    reader.locator("body[data-live=yes]").wait_for(state="attached")
    for number in range(3):
        flagger = make_user(email=f"flagger{number}@example.org")
        if number < 2:
            flags.flag_post(flagger, post.id, "spam")
    # The third report goes through the page, as a resident would send it.
    flagger = signed_in("flagger2@example.org")
    flagger.goto(f"/forums/threads/{thread.id}")
    article = flagger.locator(f"#post-{post.id}")
    article.get_by_text("Report", exact=True).click()
    article.get_by_label("What is wrong?").select_option("spam")
    article.get_by_role("button", name="Send the report").click()
    flagger.get_by_text("a moderator will look").wait_for()
    expect(reader.locator(f"#post-{post.id}")).not_to_contain_text("Buy followers")
    expect(reader.locator(f"#post-{post.id}")).to_contain_text("hidden")

    mod = signed_in("mod@example.org")
    mod.get_by_role("link", name="Moderation").click()
    item = mod.locator(f"#item-{post.id}")
    expect(item).to_contain_text("Buy followers")
    expect(item).to_contain_text("spam")
    item.get_by_role("checkbox").check()
    mod.get_by_label("Action").select_option("delete")
    mod.get_by_label("Reason (the author sees it)").fill("Advertising")
    mod.get_by_role("button", name="Apply").click()
    mod.get_by_text("Nothing waits for review.").wait_for()

    author = signed_in("author@example.org")
    author.goto(f"/forums/threads/{thread.id}")
    expect(author.locator(f"#post-{post.id}")).to_contain_text("Advertising")


def test_thread_actions_from_the_page_reach_open_pages(signed_in, forum):
    thread = forum["thread"]
    reader = signed_in("reader@example.org")
    reader.goto(f"/forums/threads/{thread.id}")
    reader.locator("body[data-live=yes]").wait_for(state="attached")
    mod = signed_in("mod@example.org")
    mod.goto(f"/forums/threads/{thread.id}")
    mod.get_by_text("Moderate this thread").click()
    mod.locator("#thread-action").select_option("lock")
    mod.locator("#moderate-thread").get_by_role("button", name="Apply").click()
    mod.get_by_text("The thread is locked.").wait_for()
    reader.locator("body[data-thread-locked=yes]").wait_for(state="attached")
    expect(reader.locator("#thread-locked")).to_be_visible()


# Notes, in the page's own clock, when its live connection is closed. Observing the
# page itself keeps the test's overhead (Playwright's round trips, which a busy
# machine slows) out of what is measured.
WATCH_LIVE_CLOSED = """() => {
  new MutationObserver((records, observer) => {
    if (document.body.dataset.live === "closed") {
      window.liveClosedAt = performance.timeOrigin + performance.now();
      observer.disconnect();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ["data-live"] });
}"""


def test_a_suspension_closes_the_members_live_page_within_a_second(
    signed_in, live_server, forum, make_user
):
    thread, author = forum["thread"], forum["author"]
    member = signed_in("author@example.org")
    member.goto(f"/forums/threads/{thread.id}")
    member.locator("body[data-live=yes]").wait_for(state="attached")
    member.evaluate(WATCH_LIVE_CLOSED)
    site_mod = make_user("moderator", None, "site@example.org")
    _, secret = create_token(site_mod, "test")
    until = datetime.now(UTC) + timedelta(days=2)
    # A moderator's script, straight from here: the clock starts as its request goes.
    acted_at = time.time()  # the page's clock is this machine's wall clock too
    answer = httpx.post(
        f"{live_server}/api/v1/moderation/users/{author.id}",
        json={"action": "suspend", "reason": "Threats", "until": until.isoformat()},
        headers={"Authorization": f"Bearer {secret}"},
        timeout=WAIT_MS / 1000,
        trust_env=False,  # loopback: never through a proxy the environment names
    )
    assert answer.status_code == 200, answer.text
    member.locator("body[data-live=closed]").wait_for(state="attached")
    closed_after = member.evaluate("window.liveClosedAt") / 1000 - acted_at
    assert 0 <= closed_after < 1.0, f"closed {closed_after:.3f} s after the action"
    member.reload()
    expect(member.locator(".site-header")).to_contain_text("Sign in")
