"""The bell on every page, the notifications page grouped by item, marking read,
the settings form and the watches form (plain forms, CSRF, errors naming fields)."""

import re

import pytest

from portal.extensions import db
from portal.notifications import services, settings, watches
from portal.notifications.models import Watch
from portal.tickets.models import Ticket
from tests.conftest import csrf_token
from tests.notifications.conftest import told


@pytest.fixture
def ann(make_user, area, auth):
    user = make_user(name="Ann", email="ann@example.org")
    auth.login("ann@example.org")
    return user


def tell(user, thread, change, title="Broken streetlight"):
    services.notify(
        "reply",
        item=("note", thread),
        recipients=[user],
        values={"title": title},
        change=change,
    )
    db.session.commit()


def bell(page: str) -> re.Match:
    found = re.search(
        r'<a class="bell" href="/notifications" data-bell\s+aria-label="([^"]+)".*?'
        r'<span class="bell-count" data-bell-count( hidden)?>(\d+)</span>',
        page,
        re.S,
    )
    assert found, "no bell in the header"
    return found


def test_the_bell_shows_the_unread_count_on_every_page(client, ann):
    page = client.get("/").get_data(as_text=True)
    assert bell(page).groups() == ("Notifications, none unread", " hidden", "0")
    tell(ann, 1, "a")
    tell(ann, 2, "b")
    for path in ("/", "/events/", "/notifications/settings"):
        page = client.get(path).get_data(as_text=True)
        assert bell(page).groups() == ("Notifications, 2 unread", None, "2"), path
        assert "js/notifications" in page and "vendor/socket.io/" in page


def test_the_live_script_shares_the_pages_socket_client(client, ann, area):
    ticket = Ticket(service_code="SBX-DA", status="open", lat=39.95, lon=-75.15)
    ticket.area = area
    db.session.add(ticket)
    db.session.commit()
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert page.count("vendor/socket.io/") == 1
    assert page.index("js/ticket") < page.index("js/notifications")


def test_signed_out_pages_have_no_bell(client, area):
    page = client.get("/").get_data(as_text=True)
    assert 'class="bell"' not in page and "js/notifications" not in page
    answer = client.get("/notifications")
    assert answer.status_code == 302 and "/auth/login" in answer.location


def test_an_empty_list_says_so(client, ann):
    page = client.get("/notifications").get_data(as_text=True)
    assert "Nothing here yet." in page
    assert "Mark all read" not in page


def test_the_list_is_grouped_by_item_newest_first(client, ann):
    tell(ann, 1, "a", "Streetlight")
    tell(ann, 2, "b", "Pothole")
    tell(ann, 1, "c", "Streetlight")
    page = client.get("/notifications").get_data(as_text=True)
    headings = re.findall(r"<h2>([^<]+?)(?: <span|</h2>)", page)
    assert headings == ["Streetlight", "Pothole"]
    ids = [int(n) for n in re.findall(r'id="notification-(\d+)"', page)]
    rows = told(ann)
    assert ids == [rows[2].id, rows[0].id, rows[1].id]
    assert "2 unread" in page


def test_marking_one_then_all_read_with_the_forms(client, ann):
    tell(ann, 1, "a")
    tell(ann, 2, "b")
    first, second = told(ann)
    token = csrf_token(client, "/notifications")
    assert client.post(f"/notifications/{first.id}/read", data={}).status_code == 400
    answer = client.post(
        f"/notifications/{first.id}/read",
        data={"csrf_token": token, "next": "/notifications"},
    )
    assert answer.status_code == 302
    assert [r.read_at is not None for r in told(ann)] == [True, False]
    page = client.get("/notifications").get_data(as_text=True)
    assert bell(page).group(3) == "1"
    client.post("/notifications/read-all", data={"csrf_token": token})
    assert all(r.read_at for r in told(ann))
    page = client.get("/notifications").get_data(as_text=True)
    assert "All your notifications are marked read." in page
    assert bell(page).group(3) == "0"


def test_another_persons_notification_cannot_be_marked(client, ann, make_user, auth):
    bo = make_user(email="bo@example.org")
    tell(bo, 1, "a")
    (row,) = told(bo)
    token = csrf_token(client, "/notifications")
    answer = client.post(f"/notifications/{row.id}/read", data={"csrf_token": token})
    assert answer.status_code == 404
    assert told(bo)[0].read_at is None


def test_the_settings_form_saves_and_names_the_field_in_error(client, ann):
    token = csrf_token(client, "/notifications/settings")
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'name="places.in_app" value="1" checked' in page
    refused = client.post(
        "/notifications/settings",
        data={"csrf_token": token, "digest_hour": "25", "digest_frequency": "weekly"},
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'href="#digest_hour">digest_hour</a>' in text
    assert 'id="digest_hour-error"' in text
    assert settings.settings_of(ann)["digest"]["frequency"] == "daily"
    saved = client.post(
        "/notifications/settings",
        data={
            "csrf_token": token,
            "places.digest": "1",
            "digest_hour": "18",
            "digest_frequency": "weekly",
            "digest_weekday": "5",
        },
    )
    assert saved.status_code == 302
    chosen = settings.settings_of(ann)
    assert chosen["groups"]["places"] == {
        "in_app": False,
        "email_now": False,
        "digest": True,
    }
    assert chosen["digest"] == {"frequency": "weekly", "hour": 18, "weekday": 5}
    assert client.post("/notifications/settings", data={}).status_code == 400


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"lat": "39.95", "lon": "-75.15", "radius": "50"}, "radius"),
        ({"lat": "39.95", "lon": "-75.15", "radius": "2500"}, "radius"),
        ({"lat": "95", "lon": "-75.15", "radius": "300"}, "lat"),
        ({"lat": "39.95", "lon": "east", "radius": "300"}, "lon"),
    ],
)
def test_the_watch_form_names_the_field_in_error(client, ann, fields, field):
    token = csrf_token(client, "/notifications/watches")
    answer = client.post(
        "/notifications/watches/point", data={"csrf_token": token, **fields}
    )
    assert answer.status_code == 422
    assert f'id="{field}-error"' in answer.get_data(as_text=True)
    assert watches.watches_of(ann) == []


def test_watching_and_unwatching_a_place_and_an_area(client, ann, area):
    token = csrf_token(client, "/notifications/watches")
    answer = client.post(
        "/notifications/watches/point",
        data={
            "csrf_token": token,
            "lat": "39.95",
            "lon": "-75.15",
            "radius": "200",
            "label": "my block",
        },
    )
    assert answer.status_code == 302
    client.post(
        "/notifications/watches/area", data={"csrf_token": token, "area": area.slug}
    )
    page = client.get("/notifications/watches").get_data(as_text=True)
    assert "my block: 200 m around 39.95000, -75.15000" in page
    assert watches.is_watching(ann, "area", area.id)
    (circle,) = [w for w in watches.watches_of(ann) if w.kind == "point"]
    client.post(
        f"/notifications/watches/{circle.id}/remove", data={"csrf_token": token}
    )
    client.post(
        "/notifications/watches/area",
        data={"csrf_token": token, "area": area.slug, "action": "unwatch"},
    )
    assert db.session.query(Watch).count() == 0
    missing = client.post(
        "/notifications/watches/area", data={"csrf_token": token, "area": "atlantis"}
    )
    assert missing.status_code == 404


def _a_ticket(area) -> Ticket:
    ticket = Ticket(
        service_code="SBX-PT",
        service_name="Pothole",
        lat=39.95,
        lon=-75.15,
        area_id=area.id,
        status="open",
        description="Deep hole",
    )
    db.session.add(ticket)
    db.session.commit()
    return ticket


def test_a_page_kept_by_the_browser_is_new_when_the_bell_changes(client, ann, area):
    ticket = _a_ticket(area)
    first = client.get(f"/tickets/{ticket.id}")
    assert first.status_code == 200 and first.headers["ETag"]
    etag = first.headers["ETag"]
    assert (
        client.get(f"/tickets/{ticket.id}", headers={"If-None-Match": etag}).status_code
        == 304
    )
    tell(ann, 7, "x")
    again = client.get(f"/tickets/{ticket.id}", headers={"If-None-Match": etag})
    assert again.status_code == 200
    assert bell(again.get_data(as_text=True)).groups()[2] == "1"


def test_opening_a_ticket_reads_what_its_reader_was_told_of_it(client, ann, area):
    ticket, other = _a_ticket(area), _a_ticket(area)
    for item in (("ticket", ticket.id), ("ticket", other.id)):
        services.notify(
            "ticket_status",
            item=item,
            recipients=[ann],
            values={"title": "Pothole", "status": "closed"},
            change="c1",
        )
    db.session.commit()
    assert services.unread_count(ann) == 2
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert bell(page).groups()[2] == "1"
    unread = [n.item_id for n in told(ann) if n.read_at is None]
    assert unread == [other.id]
