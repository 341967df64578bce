"""The bell in Chromium: three residents follow a ticket, the city closes it, and
each open page's bell shows it within a second; the notification pages pass axe."""

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from portal.extensions import db
from portal.notifications import services
from portal.tickets.models import Ticket
from portal.tickets.services import set_following
from tests.browser import conftest as browsers
from tests.browser.test_accessibility import AXE, RULES
from tests.notifications.conftest import told


@pytest.fixture
def area(make_area):
    return make_area("Old City", (-75.20, 39.90, -75.10, 40.00))


# Notes, in the page's own clock, when its bell first shows a count (the test's
# round trips, which a busy machine slows, stay out of what is measured).
WATCH_BELL = """() => {
  new MutationObserver((records, observer) => {
    if (Number(document.body.dataset.unread) > 0) {
      window.bellRangAt = performance.timeOrigin + performance.now();
      observer.disconnect();
    }
  }).observe(document.body, { attributes: true, attributeFilter: ["data-unread"] });
}"""


@pytest.fixture
def ticket(area):
    row = Ticket(
        city_id="7001",
        service_code="SBX-DA",
        service_name="Dead Animal in Street",
        status="open",
        lat=39.95,
        lon=-75.15,
        area=area,
        city_updated_at=datetime.now(UTC) - timedelta(hours=1),
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_three_followers_see_the_citys_close_on_their_bells_within_a_second(
    app, signed_in, live_server, ticket, make_user
):
    people = [make_user(email=f"n{i}@example.org", name=f"N{i}") for i in range(3)]
    pages = []
    for person in people:
        set_following(person, ticket.id, True)
        page = signed_in(person.email)
        page.goto("/areas/")
        page.locator("body[data-bell-live=yes]").wait_for(state="attached")
        page.evaluate(WATCH_BELL)
        pages.append(page)
    acted_at = time.time()  # the pages' clocks are this machine's wall clock too
    answer = httpx.post(
        f"{live_server}/open311/v2/servicerequestupdates.json",
        data={
            "api_key": app.config["SANDBOX_API_KEY"],
            "update_id": "u1",
            "service_request_id": "7001",
            "status": "closed",
            "updated_datetime": datetime.now(UTC).isoformat(),
            "description": "Removed by the crew.",
        },
        timeout=browsers.WAIT_MS / 1000,
        trust_env=False,  # loopback: never through a proxy the environment names
    )
    assert answer.status_code == 200, answer.text
    for page in pages:
        expect(page.locator("[data-bell-count]")).to_have_text("1")
        rang_after = page.evaluate("window.bellRangAt") / 1000 - acted_at
        assert 0 <= rang_after < 1.0, f"the bell rang {rang_after:.3f} s after"
        label = page.locator("a.bell").get_attribute("aria-label")
        assert label == "Notifications, 1 unread"
    assert [len(told(person)) for person in people] == [1, 1, 1]
    first = pages[0]
    first.locator("a.bell").click()
    expect(first.locator(".notification.unread")).to_contain_text(
        "Dead Animal in Street is now closed. Removed by the crew."
    )
    first.get_by_role("button", name="Mark all read").click()
    expect(first.locator("[data-bell-count]")).to_be_hidden()


def audit(page) -> list[str]:
    page.add_script_tag(path=AXE)
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES
    )
    return [
        f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
    ]


def test_the_notification_pages_have_no_violations(
    browser, live_server, ticket, make_user
):
    ann = make_user(email="ann@example.org", name="Ann")
    for change in ("a", "b"):
        services.notify(
            "ticket_note",
            item=("ticket", ticket.id),
            recipients=[ann],
            values={"title": "Dead Animal in Street", "note": f"Note {change}"},
            change=change,
        )
    db.session.commit()
    # CSP is bypassed only so the audit script can be injected into the page.
    context = browsers.new_context(browser, live_server, bypass_csp=True)
    page = context.new_page()
    browsers.sign_in(page, "ann@example.org")
    for path in ("/notifications", "/notifications/settings", "/notifications/watches"):
        page.goto(path)
        assert audit(page) == [], path
    page.goto("/notifications/settings")
    page.get_by_label("At this hour (0 to 23, the city's time)").fill("99")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector("[role=alert]")
    assert audit(page) == []
    page.goto("/notifications/watches")
    page.get_by_label("Radius in metres (100 to 2000)").fill("5")
    page.get_by_role("button", name="Watch this place").click()
    page.wait_for_selector("[role=alert]")
    assert audit(page) == []
    context.close()
