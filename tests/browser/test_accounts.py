"""In a real browser: register, sign out, sign in, find your area, with screenshots."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD


@pytest.fixture
def areas(make_area):
    make_area("Old City", (-75.150, 39.948, -75.140, 39.958))
    make_area("Fishtown", (-75.140, 39.960, -75.120, 39.980))


def test_register_sign_out_and_sign_in(page, shot, areas):
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("neighborhood")
    shot("home")
    page.get_by_role("link", name="Create account").click()
    page.get_by_label("Your name, as neighbors will see it").fill("Dana")
    page.get_by_label("Email").fill("dana@example.org")
    page.get_by_label("Password (at least 10 characters)").fill(PASSWORD)
    page.get_by_label("Your neighborhood").select_option(label="Fishtown")
    shot("register-filled")
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/areas/fishtown$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Fishtown")
    expect(page.get_by_role("status")).to_contain_text("Welcome, Dana")
    shot("registered")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("Email").fill("dana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("link", name="Go to Fishtown")).to_be_visible()
    shot("signed-in-home")
    assert page.console_errors == []


def test_form_errors_are_announced_and_linked(page, shot, areas):
    page.goto("/auth/register")
    page.get_by_label("Email").fill("not-an-email")
    page.get_by_role("button", name="Create account").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please check the form")
    name_field = page.get_by_label("Your name, as neighbors will see it")
    expect(name_field).to_have_attribute("aria-invalid", "true")
    expect(name_field).to_have_attribute("aria-describedby", "display_name-error")
    expect(page.locator("#email-error")).to_contain_text("Enter a valid email address")
    shot("errors")
    # The page itself answers 400 (Chromium logs it); nothing else may fail.
    assert [e for e in page.console_errors if "status of 400" not in e] == []


def test_wrong_password_message(page, areas, make_user):
    make_user(email="eve@example.org")
    page.goto("/auth/login")
    page.get_by_label("Email").fill("eve@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#password-error")).to_have_text(
        "The email or password is not right."
    )


def test_near_me_goes_to_the_area_under_the_phone(page, shot, areas):
    page.goto("/")
    page.get_by_role("button", name="Use my location").click()
    expect(page).to_have_url(re.compile(r"/areas/old-city$"))
    shot("near-me")
    assert page.console_errors == []


def test_area_picker_works_by_keyboard(page, areas):
    page.goto("/")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    picker = page.get_by_label("Neighborhood", exact=True)
    picker.focus()
    picker.select_option(label="Old City")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Go")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/areas/old-city$"))
