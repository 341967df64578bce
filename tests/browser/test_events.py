"""Events in Chromium: an RSVP on one phone moves the count on another live, and
the waitlist shows its place."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from portal.areas.services import save_areas
from portal.demo.geography import demo_areas
from portal.events import services


@pytest.fixture
def event(app, make_user):
    save_areas(demo_areas())
    organizer = make_user(email="org@example.org", name="Org")
    for name in ("ann", "ben"):
        make_user(email=f"{name}@example.org", name=name.title())
    start = datetime.now(UTC) + timedelta(days=2)
    return services.create_event(
        organizer,
        services.EventInput(
            kind="cleanup",
            title="Alley cleanup",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            lat=39.9730,
            lon=-75.1290,
            place="Palmer Park",
            capacity=1,
        ),
    )


def test_an_rsvp_moves_the_count_on_another_page(signed_in, event):
    ann = signed_in("ann@example.org")
    ben = signed_in("ben@example.org")
    for page in (ann, ben):
        page.goto(f"/events/{event.id}")
        page.locator("body[data-live=yes]").wait_for(state="attached")
    ann.get_by_role("button", name="I'm going").click()
    expect(ann.locator("#my-answer")).to_have_text("You are going.")
    expect(ben.locator("#going-count")).to_have_text("1")
    ben.get_by_role("button", name="I'm going").click()
    expect(ben.locator("#my-answer")).to_contain_text("number 1 on the waitlist")
    expect(ann.locator("#waitlist-count")).to_have_text("1")
    ann.get_by_role("button", name="I can't come").click()
    expect(ben.locator("#waitlist-count")).to_have_text("0")
    ben.reload()
    expect(ben.locator("#my-answer")).to_have_text("You are going.")
