"""A live portal on loopback, and Debian Chromium driven by Playwright (no download)."""

import base64
import os
import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from tests.conftest import PASSWORD

CHROMIUM = "/usr/bin/chromium"
# One budget for everything a browser test waits on (actions, locators, assertions).
# Waits end as soon as their condition holds: this only bounds how long a busy machine
# may take before the test calls it a failure. A promise the product makes about time
# ("within a second") is measured on its own, from the action (see test_moderation).
WAIT_MS = 15_000
PHONE = {"width": 390, "height": 844}
expect.set_options(timeout=WAIT_MS)  # expect() has its own default (5 s) otherwise
ARTIFACTS = os.path.join(os.path.dirname(__file__), "..", "..", "test-artifacts")
# Chromium's own background traffic (updates, sync, lookups) would leave the machine.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


# A 1x1 transparent PNG: every map tile, so no test ever reaches a tile server.
BLANK_TILE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)
NOT_LOOPBACK = re.compile(r"^(?!https?://127\.0\.0\.1[:/])[a-z]+://")


def keep_offline(context) -> None:
    """Answer tile requests in the browser; refuse anything else off loopback."""

    def answer(route):
        if route.request.resource_type == "image":
            route.fulfill(status=200, body=BLANK_TILE, content_type="image/png")
        else:
            route.abort()

    context.route(NOT_LOOPBACK, answer)


def pytest_collection_modifyitems(items):
    # The hook sees every collected test, not only this folder's.
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.path).startswith(here + os.sep):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian chromium is missing: run `make test`"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def new_context(browser, live_server, **options):
    """A phone-sized browser context on the live portal, kept offline."""
    context = browser.new_context(base_url=live_server, viewport=PHONE, **options)
    context.set_default_timeout(WAIT_MS)
    keep_offline(context)
    return context


def sign_in(page, email) -> None:
    page.goto("/auth/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def closed_when_sent(app):
    """The app, its responses closed as soon as they are sent.

    Werkzeug's development server closes a response only after draining the request
    socket; when the browser has reset the connection meanwhile (a page or context
    closing just as a favicon arrives: more likely on a busy machine), the drain
    raises first and the response's file is left for the garbage collector, whose
    ResourceWarning then fails whatever test is running.
    """

    def each_part(parts):
        try:
            yield from parts
        finally:
            if hasattr(parts, "close"):
                parts.close()

    def serve(environ, start_response):
        return each_part(app(environ, start_response))

    return serve


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, closed_when_sent(app), threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def page(browser, live_server, request):
    """A phone-sized page that records console errors (a CSP violation is one)."""
    context = new_context(
        browser,
        live_server,
        locale="en-US",
        geolocation={"latitude": 39.9531, "longitude": -75.1447},
        permissions=["geolocation"],
    )
    page = context.new_page()
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            message.type == "error" and page.console_errors.append(message.text)
        ),
    )
    yield page
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(
        path=os.path.join(ARTIFACTS, f"{request.node.name}-last.png"), full_page=True
    )
    context.close()


@pytest.fixture
def signed_in(browser, live_server):
    """Open a page signed in as ``email``, in its own context (another phone); every
    context is closed at teardown, a failed test's too, before the server stops."""
    contexts = []

    def open_page(email):
        context = new_context(browser, live_server)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, email)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot(page, request):
    """Save a named screenshot of the page into test-artifacts/."""

    def take(name):
        os.makedirs(ARTIFACTS, exist_ok=True)
        path = os.path.join(ARTIFACTS, f"{request.node.name}-{name}.png")
        page.screenshot(path=path, full_page=True)
        return path

    return take


def city_overrides(sandbox_server) -> dict:
    """Settings for pages that talk to the sandbox city over loopback, quickly."""
    from tests.conftest import SANDBOX_KEY

    return {
        "CITY_URL": sandbox_server.endpoint,
        "CITY_API_KEY": SANDBOX_KEY,
        "CITY_TIMEOUT": 5.0,
        "CITY_RETRY_BASE": 0.001,
        "CITY_RETRY_MAX": 0.005,
        "CITY_TOKEN_POLL": 0,
    }
