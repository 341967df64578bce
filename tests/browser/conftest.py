"""A live portal on loopback, and Debian Chromium driven by Playwright (no download)."""

import base64
import os
import re
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
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


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
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
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        base_url=live_server,
        locale="en-US",
        geolocation={"latitude": 39.9531, "longitude": -75.1447},
        permissions=["geolocation"],
    )
    keep_offline(context)
    page = context.new_page()
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            message.type == "error" and page.console_errors.append(message.text)
        ),
    )
    page.set_default_timeout(15_000)
    yield page
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(
        path=os.path.join(ARTIFACTS, f"{request.node.name}-last.png"), full_page=True
    )
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
