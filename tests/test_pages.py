"""Pages as a whole: HTML error pages, dates in the city timezone, landmarks."""

from datetime import UTC, datetime

from flask import render_template_string

from portal.errors import PermissionDenied


def test_html_error_pages_say_what_happened(make_app):
    app = make_app()

    @app.get("/forbidden-for-test")
    def forbidden():
        raise PermissionDenied("Only captains of this area can do that.")

    @app.get("/broken-for-test")
    def broken():
        raise RuntimeError("internal detail")

    client = app.test_client()
    denied = client.get("/forbidden-for-test")
    assert denied.status_code == 403
    assert "Only captains of this area can do that." in denied.get_data(as_text=True)
    crashed = client.get("/broken-for-test")
    assert crashed.status_code == 500
    page = crashed.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "internal detail" not in page
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "We could not find that page." in missing.text


def test_dates_are_shown_in_the_city_timezone(app):
    noon_utc = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
    with app.test_request_context("/"):
        shown = render_template_string("{{ when|datetime('short') }}", when=noon_utc)
    assert (
        "12:00" in shown and "PM" in shown
    )  # 17:00 UTC is noon in Philadelphia in January


def test_layout_has_landmarks_skip_link_and_language(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert '<a class="skip-link" href="#main">' in page
    for landmark in ("<header", "<nav", '<main id="main"', "<footer"):
        assert landmark in page
    assert 'name="viewport"' in page
