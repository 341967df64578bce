"""The map, the list and filing in real Chromium, against a sandbox city on loopback."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from portal.areas.services import save_areas
from portal.cityapi import get_city_api
from portal.demo.geography import demo_areas
from portal.extensions import db
from portal.sandbox.seed import seed
from portal.tickets.city_services import refresh_services
from portal.tickets.models import Ticket
from portal.tickets.sync import pull_updates
from tests.browser.conftest import city_overrides
from tests.conftest import PASSWORD
from tests.tickets.conftest import drain

PAYLOADS = [
    "${alert(1)}",
    "</script><script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
]


@pytest.fixture
def app_overrides(sandbox_server):
    return city_overrides(sandbox_server)


@pytest.fixture
def city(app, sandbox_server):
    """The demo neighborhoods, the sandbox's services and 600 of its requests."""
    save_areas(demo_areas())
    seed(sandbox_server.store, 600)
    refresh_services(get_city_api())
    pull_updates(get_city_api())
    return sandbox_server


def loaded(page):
    # A selector wait, not wait_for_function: the page's CSP forbids eval.
    page.locator("body[data-map-state=loaded]").wait_for(state="attached")


# Moves the map, without animating, so that the marker ``index`` sits at ``(0.5, y)``
# of the map (fractions of its size); the map then loads that view.
PUT_MARKER_AT = """([name, index, y]) => {
  const map = window[name];
  const box = map.getContainer().getBoundingClientRect();
  const icon = document.querySelectorAll(".ticket-marker")[index];
  const at = icon.getBoundingClientRect();
  const from = [at.left + at.width / 2 - box.left, at.top + at.height / 2 - box.top];
  const to = [box.width / 2, box.height * y];
  const center = [box.width / 2 + from[0] - to[0], box.height / 2 + from[1] - to[1]];
  document.body.dataset.mapState = "moving";
  map.setView(map.containerPointToLatLng(center), map.getZoom(), { animate: false });
}"""
# The index of the marker nearest ``(0.5, y)`` of the map.
MARKER_AT = """([name, y]) => {
  const box = window[name].getContainer().getBoundingClientRect();
  const x0 = box.left + box.width / 2, y0 = box.top + box.height * y;
  const icons = Array.from(document.querySelectorAll(".ticket-marker"));
  const away = (icon) => {
    const r = icon.getBoundingClientRect();
    return Math.hypot(r.left + r.width / 2 - x0, r.top + r.height / 2 - y0);
  };
  return icons.indexOf(icons.reduce((a, b) => (away(a) <= away(b) ? a : b)));
}"""
# A popup that needs room pans the map first (and the map then loads the new view).
NOTE_POPUP_PANNING = """(name) => window[name].once("autopanstart", () => {
  document.body.dataset.mapState = "moving";
})"""


def map_name(page) -> str:
    return page.locator("#map-config").get_attribute("data-map")


def put_a_marker_at(page, y: float):
    """Move the map so a marker sits at height ``y`` (a fraction) of it, mid-width;
    answer that marker, once the map has loaded the view."""
    page.evaluate(PUT_MARKER_AT, [map_name(page), 0, y])
    loaded(page)
    return page.locator(".ticket-marker").nth(
        page.evaluate(MARKER_AT, [map_name(page), y])
    )


def zoom_to_single_tickets(page):
    clusters = page.locator(".server-cluster")
    for _ in range(6):
        # The view's answer first: a page still loading shows neither yet.
        loaded(page)
        page.locator(".ticket-marker, .server-cluster").first.wait_for()
        if page.locator(".ticket-marker").count():
            break
        biggest = max(
            range(clusters.count()), key=lambda i: int(clusters.nth(i).inner_text())
        )
        page.evaluate("document.body.dataset.mapState = 'moving'")
        clusters.nth(biggest).dispatch_event("click")
        loaded(page)
    page.locator(".ticket-marker").first.wait_for()


def no_dialogs(page):
    opened = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    return opened


def sign_in(page, make_user, email="walker@example.org"):
    make_user(email=email)
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def test_clusters_expand_on_zoom_and_a_marker_opens_its_ticket(page, city, shot):
    page.goto("/map?status=any")
    clusters = page.locator(".server-cluster")
    clusters.first.wait_for()
    # The whole city in view: every request is in some cluster.
    page.evaluate(
        "name => { document.body.dataset.mapState = 'moving';"
        " window[name].setView([40.0, -75.13], 10); }",
        map_name(page),
    )
    loaded(page)
    counts = [int(text) for text in clusters.all_inner_texts()]
    synced = db.session.scalar(select(func.count()).select_from(Ticket))
    assert synced > 100 and sum(counts) == synced
    shot("city")
    # Zooming in through the clusters reaches single tickets.
    zoom_to_single_tickets(page)
    shot("street")
    # Low on the map, where its popup fits above it: the map stays where it is.
    marker = put_a_marker_at(page, 0.8)
    page.evaluate(NOTE_POPUP_PANNING, map_name(page))
    marker.dispatch_event("click")  # the popup pans the map, if at all, right here
    assert page.evaluate("document.body.dataset.mapState") == "loaded", "it panned"
    page.locator(".ticket-popup a").click()
    page.wait_for_url(re.compile(r"/tickets/\d+$"))
    assert page.locator("h1").inner_text()
    assert page.console_errors == []


def test_a_popup_that_pans_the_map_stays_open(page, city):
    page.goto("/map?status=any")
    zoom_to_single_tickets(page)
    # Near the top: its popup opens above it, so the map pans to make room.
    marker = put_a_marker_at(page, 0.1)
    page.evaluate(NOTE_POPUP_PANNING, map_name(page))
    marker.dispatch_event("click")
    loaded(page)  # the view the pan led to is loaded
    assert page.locator(".ticket-popup").count() == 1
    assert page.console_errors == []


def test_script_in_city_text_never_runs(page, city, make_area):
    base = datetime.now(UTC) - timedelta(days=1)
    for index, payload in enumerate(PAYLOADS):
        db.session.add(
            Ticket(
                service_code="SBX-SD",
                service_name=payload,
                status="open",
                description=payload,
                address=payload,
                lat=39.9530 + index * 0.0002,
                lon=-75.1447,
                requested_at=base,
            )
        )
    db.session.commit()
    opened = no_dialogs(page)
    page.goto("/map?near=39.9532,-75.1447")
    page.locator(".ticket-marker").first.wait_for()
    for index in range(page.locator(".ticket-marker").count()):
        page.locator(".ticket-marker").nth(index).dispatch_event("click")
        page.locator(".ticket-popup").wait_for()
    page.locator("#ticket-list li").first.wait_for()
    assert page.locator(".ticket-popup a[href^='javascript']").count() == 0
    page.goto("/map/list?near=39.9532,-75.1447")
    assert page.locator("img[src=x]").count() == 0
    for ticket in db.session.scalars(
        select(Ticket).where(Ticket.address.in_(PAYLOADS))
    ):
        page.goto(f"/tickets/{ticket.id}")
        assert page.locator("h1").inner_text() == ticket.service_name
    assert opened == []
    assert page.console_errors == []


def test_the_map_pages_list_fills_before_the_map_moves(page, city):
    page.goto("/map")
    status = page.locator("#list-status")
    expect(status).to_contain_text("requests within")  # not "Loading…" for ever
    count = int(status.inner_text().split()[0])
    assert count > 0
    expect(page.locator("#ticket-list li")).to_have_count(count)


def test_the_list_works_with_the_keyboard_alone(page, city):
    page.goto("/map/list")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Enter")
    search = page.get_by_label("Address or neighborhood")
    for _ in range(12):
        page.keyboard.press("Tab")
        if search.evaluate("node => node === document.activeElement"):
            break
    page.keyboard.type("Fishtown")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=Fishtown**")
    assert "Near Fishtown" in page.locator("[role=status]").inner_text()
    first = page.locator("#ticket-list a").first
    for _ in range(30):
        page.keyboard.press("Tab")
        if first.evaluate("node => node === document.activeElement"):
            break
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/tickets/\d+$"))


def test_filing_reaches_the_city_and_the_page_turns_sent(page, city, make_user):
    sign_in(page, make_user)
    page.goto("/tickets/new")
    page.get_by_label("What is the problem?").fill("The street light is out")
    page.get_by_role("button", name="Suggest a service").click()
    page.get_by_role("link", name="Street Light Outage").click()
    page.get_by_label("Out", exact=True).check()
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#lat")).not_to_have_value("")
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_url(re.compile(r"/tickets/\d+$"))
    assert "Waiting to be sent" in page.locator("#send-state").inner_text()
    page.locator("body[data-watching=yes]").wait_for(state="attached")
    drain(get_city_api())
    page.locator("body[data-send-state=sent]").wait_for(state="attached")
    ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket.city_id in page.locator("#send-state").inner_text()
    assert page.console_errors == []


def test_the_location_and_duplicate_prompts_appear(page, city, make_user):
    sign_in(page, make_user)
    page.goto("/tickets/new?service=SBX-SLO")
    page.get_by_label("Out", exact=True).check()
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#lat")).not_to_have_value("")
    page.get_by_label("Address").fill("1200 Frankford Ave")
    page.get_by_role("button", name="Send the report").click()
    prompt = page.locator("#location-check")
    prompt.wait_for()
    assert "Which one is right?" in prompt.inner_text()
    page.get_by_label("The point on the map").check()
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_url(re.compile(r"/tickets/\d+$"))

    page.goto("/tickets/new?service=SBX-SLO")
    page.get_by_label("Out", exact=True).check()
    page.get_by_role("button", name="Use my location").click()
    expect(page.locator("#lat")).not_to_have_value("")
    page.get_by_role("button", name="Send the report").click()
    page.locator("#duplicates").wait_for()
    assert page.get_by_role("button", name="Me too instead").count() >= 1
    page.get_by_label("Mine is different").check()
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_url(re.compile(r"/tickets/\d+$"))
