"""A liaison in Chromium: minutes become drafts, the ticked ones are filed, and the
batch page turns each row "sent" live as the sender reaches the sandbox city."""

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portal.areas.models import Area
from portal.areas.services import save_areas
from portal.auth.services import grant_role
from portal.cityapi import get_city_api
from portal.demo.geography import demo_areas
from portal.extensions import db
from portal.liaisons import services
from portal.tickets.city_services import refresh_services
from tests.browser.conftest import city_overrides
from tests.tickets.conftest import drain


@pytest.fixture
def app_overrides(sandbox_server):
    return city_overrides(sandbox_server)


@pytest.fixture
def meeting(app, sandbox_server, make_user):
    save_areas(demo_areas())
    refresh_services(get_city_api())
    fishtown = db.session.scalar(select(Area).where(Area.slug == "fishtown"))
    liaison = make_user("liaison", fishtown, "lia@example.org", name="Lia")
    for slug in ("kensington", "northern-liberties"):
        grant_role(
            liaison, "liaison", db.session.scalar(select(Area).where(Area.slug == slug))
        )
    made = services.create_meeting(
        liaison,
        fishtown,
        "Fishtown block meeting",
        datetime.now(UTC) - timedelta(days=1),
        "Rec center",
        [],
    )
    services.publish_minutes(
        liaison,
        made.id,
        "- Alley light out behind 1200 Frankford Ave\n"
        "- Vacant lot overgrown with weeds at 2nd & Cecil B Moore Ave\n"
        "- Thanks to the volunteers",
        12,
    )
    return made


def test_minutes_to_drafts_to_a_live_batch(signed_in, meeting):
    page = signed_in("lia@example.org")
    page.goto(f"/meetings/{meeting.id}")
    page.get_by_role("button", name="Find requests in the agenda and minutes").click()
    rows = page.locator("table.drafts tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_label("Service of draft 1")).to_have_value("SBX-ALO")
    expect(page.get_by_label("Service of draft 2")).to_have_value("SBX-VLC")
    page.get_by_label("Description of draft 2").fill("Weeds taller than the fence")
    page.get_by_role("button", name="File the ticked requests").click()
    page.wait_for_url("**/batches/*")
    page.locator("body[data-live=yes]").wait_for(state="attached")
    expect(page.locator("tr[data-state=queued]")).to_have_count(2)
    drain(get_city_api())
    expect(page.locator("tr[data-state=sent]")).to_have_count(2)
    expect(page.locator("tr[data-state=sent] .city-id").first).not_to_be_empty()
    page.goto(f"/meetings/{meeting.id}")
    expect(page.locator("#report")).to_be_visible()
    expect(page.locator("table.report")).to_contain_text("Vacant Lot Clean-Up")
