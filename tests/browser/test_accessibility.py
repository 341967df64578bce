"""axe-core (from npm) audits every page for WCAG 2.1 A/AA problems, in Chromium."""

import os

import pytest

from portal.auth import services
from portal.extensions import db
from portal.forums import services as forums
from portal.tickets.models import CityService, Ticket
from tests.browser.conftest import new_context, sign_in

AXE = os.path.join(
    os.path.dirname(__file__), "..", "..", "node_modules", "axe-core", "axe.min.js"
)
RULES = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture
def audit(browser, live_server):
    """Open a path (optionally signed in); return axe's violations as readable lines."""
    assert os.path.exists(AXE), (
        "axe-core is missing: run `make test`, which installs it"
    )
    # CSP is bypassed only so the audit script can be injected into the page.
    context = new_context(browser, live_server, bypass_csp=True)
    page = context.new_page()

    def run(path, email=None):
        if email:
            sign_in(page, email)
        page.goto(path)
        page.add_script_tag(path=AXE)
        result = page.evaluate(
            "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES
        )
        return [
            f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in result["violations"]
        ]

    run.page = page
    yield run
    context.close()


@pytest.fixture
def world(make_area, make_user):
    area = make_area("Old City", (-75.150, 39.948, -75.140, 39.958))
    user = make_user(email="amy@example.org")
    services.create_token(user, "a script")
    db.session.add(
        CityService(
            code="SBX-SD",
            name="Street Defect",
            group="Streets Department",
            attributes=[
                {
                    "code": "GAS",
                    "datatype": "singlevaluelist",
                    "variable": True,
                    "required": True,
                    "order": 1,
                    "description": "Is gas escaping?",
                    "values": [
                        {"key": "yes", "name": "Yes"},
                        {"key": "no", "name": "No"},
                    ],
                },
                {
                    "code": "SIZE",
                    "datatype": "number",
                    "variable": True,
                    "required": False,
                    "order": 2,
                    "description": "How wide?",
                    "values": [],
                },
            ],
        )
    )
    db.session.add(
        Ticket(
            id=7,
            service_code="SBX-SD",
            service_name="Street Defect",
            status="open",
            lat=39.953,
            lon=-75.145,
            address="100 Market St",
            area_id=area.id,
            description="A hole",
            status_notes="Crew sent",
        )
    )
    db.session.commit()
    forums.create_thread(user, area, "Trash day", "Moved to **Tuesday**")
    return user


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/auth/login",
        "/auth/register",
        "/areas/",
        "/areas/old-city",
        "/missing",
        "/map",
        "/map/list?near=39.953,-75.145",
        "/tickets/7",
        "/forums/old-city/",
        "/forums/threads/1",
    ],
)
def test_public_pages_have_no_violations(audit, world, path):
    assert audit(path) == []


def test_profile_has_no_violations(audit, world):
    assert audit("/auth/profile", email="amy@example.org") == []


def test_a_thread_with_its_forms_has_no_violations(audit, world, make_user):
    make_user(email="reader@example.org")
    assert audit("/forums/threads/1", email="reader@example.org") == []


@pytest.mark.parametrize(
    "path", ["/tickets/new?text=hole", "/tickets/new?service=SBX-SD"]
)
def test_filing_pages_have_no_violations(audit, world, path):
    assert audit(path, email="amy@example.org") == []


def test_form_with_errors_has_no_violations(audit, world):
    audit("/auth/register")
    page = audit.page
    page.get_by_role("button", name="Create account").click()
    page.wait_for_selector("[role=alert]")
    page.add_script_tag(path=AXE)
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", RULES
    )
    assert [v["id"] for v in result["violations"]] == []


def test_moderation_pages_have_no_violations(audit, world, make_user):
    from portal.forums import flags

    make_user("admin", None, "root@example.org")
    reader = make_user(email="reader@example.org")
    flags.flag_post(reader, 1, "other", "Looks like spam")
    # One session for the whole walk: the audit page signs in once.
    assert audit("/moderation/", email="root@example.org") == []
    for path in (
        "/moderation/log",
        f"/moderation/users/{world.id}",
        "/forums/threads/1",
    ):
        assert audit(path) == [], path


def test_meeting_and_batch_pages_have_no_violations(audit, world, make_user):
    from datetime import UTC, datetime

    from portal.areas.models import Area
    from portal.liaisons import bulk
    from portal.liaisons import services as meetings

    area = db.session.scalar(db.select(Area))
    make_user("liaison", area, "lia@example.org")
    liaison = services.get_user_by_email("lia@example.org")
    meeting = meetings.create_meeting(
        liaison, area, "Block meeting", datetime.now(UTC), "Library", ["Lights"]
    )
    batch, _ = bulk.file_batch(
        liaison, [{"service_code": "SBX-NOPE", "address": "1 Nowhere"}], "api"
    )
    assert audit(f"/meetings/{meeting.id}", email="lia@example.org") == []
    for path in (
        "/meetings/new",
        "/batches/new",
        f"/batches/{batch.id}",
        "/areas/old-city",
    ):
        assert audit(path) == [], path


def test_event_pages_have_no_violations(audit, world, make_user):
    from datetime import UTC, datetime, timedelta

    from portal.events import services as events

    start = datetime.now(UTC) + timedelta(days=3)
    event = events.create_event(
        world,
        events.EventInput(
            kind="social",
            title="Block party",
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            lat=39.953,
            lon=-75.145,
            place="Elfreth's Alley",
            capacity=10,
            description="Bring a **dish**",
        ),
    )
    assert audit(f"/events/{event.id}", email="amy@example.org") == []
    for path in ("/events/", "/events/new", "/events/mine"):
        assert audit(path) == [], path
