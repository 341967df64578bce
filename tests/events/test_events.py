"""Events: organizing with field errors, RSVPs with capacity and a waitlist (exact
under fifty concurrent answers), promotion with a notification, calendars, reminders
told once (and marked to be mailed), and cleanups reporting on their tickets."""

import io
import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from icalendar import Calendar
from PIL import Image
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.areas.services import locate, save_areas
from portal.auth.services import create_token
from portal.demo.geography import demo_areas
from portal.errors import Conflict, ValidationFailed
from portal.events import calendar, cleanups, reminders, services
from portal.events.models import Event, Rsvp
from portal.extensions import db
from portal.forums.models import Post, Thread
from portal.notifications.models import Notification
from portal.notifications.services import text_of
from portal.tickets.models import Ticket
from tests.notifications.conftest import told

FISHTOWN = (39.9730, -75.1290)


@pytest.fixture
def areas(app):
    save_areas(demo_areas())


def headers(user) -> dict:
    _, secret = create_token(user, "t")
    return {"Authorization": f"Bearer {secret}"}


def at(hours: float) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def body(**change) -> dict:
    return {
        "kind": "social",
        "title": "Block party",
        "starts_at": at(48),
        "ends_at": at(52),
        "lat": FISHTOWN[0],
        "lon": FISHTOWN[1],
        "place": "Palmer Park",
        "description": "Bring a **dish**",
        "capacity": 20,
        **change,
    }


def make_event(user, **change) -> Event:
    data = body(**change)
    return services.create_event(
        user,
        services.EventInput(
            kind=data["kind"],
            title=data["title"],
            starts_at=datetime.fromisoformat(data["starts_at"]),
            ends_at=datetime.fromisoformat(data["ends_at"]),
            place=data["place"],
            lat=data["lat"],
            lon=data["lon"],
            description=data["description"],
            capacity=data["capacity"],
        ),
    )


def test_organizing_by_api_and_the_list(client, areas, make_user):
    organizer = make_user(email="org@example.org", name="Org")
    made = client.post("/api/v1/events", json=body(), headers=headers(organizer))
    assert made.status_code == 201, made.get_json()
    event = made.get_json()
    assert (
        event["area"] == "fishtown"
        and "<strong>dish</strong>" in event["description_html"]
    )
    listed = client.get("/api/v1/events?area=fishtown&kind=social").get_json()["events"]
    assert [e["id"] for e in listed] == [event["id"]]
    assert client.get("/api/v1/events?kind=cleanup").get_json()["events"] == []
    page = client.get("/events/?area=fishtown").data.decode()
    assert "Block party" in page and "Palmer Park" in page
    assert "Block party" in client.get("/areas/fishtown").data.decode()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ends_at": at(47)}, "ends_at"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": -3}, "capacity"),
        ({"starts_at": at(-30), "ends_at": at(-28)}, "starts_at"),
        ({"lat": 40.9, "lon": -74.0}, "place"),  # outside every neighborhood
        ({"description": "x" * 1_000_000}, "description"),
        ({"title": ""}, "title"),
        ({"kind": "rave"}, "kind"),
        ({"ends_at": at(48 + 24 * 8)}, "ends_at"),
        ({"starts_at": "2026-12-01T10:00:00"}, "starts_at"),  # no offset
    ],
)
def test_bad_events_name_the_field(client, areas, make_user, change, field):
    organizer = make_user(email="org@example.org")
    answer = client.post(
        "/api/v1/events", json=body(**change), headers=headers(organizer)
    )
    assert answer.status_code == 422, answer.get_json()
    assert field in answer.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Event)) == 0


def test_an_unknown_area_is_404(client):
    assert client.get("/api/v1/events?area=atlantis").status_code == 404


def test_capacity_waitlist_and_promotion_with_a_notice(client, areas, make_user):
    organizer = make_user(email="org@example.org")
    event = make_event(organizer, capacity=2)
    people = [make_user(email=f"p{n}@example.org", name=f"P{n}") for n in range(4)]
    states = [services.rsvp(person, event.id, True)[0].state for person in people]
    assert states == ["going", "going", "waitlisted", "waitlisted"]
    again = client.post(
        f"/api/v1/events/{event.id}/rsvp",
        json={"going": True},
        headers=headers(people[3]),
    ).get_json()
    assert again["state"] == "waitlisted" and again["position"] == 2
    _, promoted = services.rsvp(people[0], event.id, False)
    assert [r.user_id for r in promoted] == [people[2].id]
    db.session.refresh(event)
    assert event.going_count == 2
    [notice] = told(people[2])
    assert notice.kind == "event_promoted"
    assert "you are going to Block party" in text_of(notice)
    for other in ({"going": True, "user": people[1].id}, {"going": "perhaps"}):
        refused = client.post(
            f"/api/v1/events/{event.id}/rsvp", json=other, headers=headers(people[0])
        )
        assert refused.status_code == 422
    services.cancel_event(organizer, event.id)
    cancelled = client.post(
        f"/api/v1/events/{event.id}/rsvp",
        json={"going": True},
        headers=headers(people[0]),
    )
    assert cancelled.status_code == 409
    # The promotion, then the cancellation to the three who still answered.
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 1 + 3


def test_fifty_concurrent_rsvps_on_twenty_seats(app, areas, make_user):
    organizer = make_user(email="org@example.org")
    event = make_event(organizer, capacity=20)
    tokens = [headers(make_user(email=f"r{n}@example.org")) for n in range(50)]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/events/{event.id}/rsvp"
    start, answers = threading.Barrier(50), [None] * 50

    def answer(index):
        start.wait()
        answers[index] = httpx.post(url, json={"going": True}, headers=tokens[index])

    workers = [threading.Thread(target=answer, args=(n,)) for n in range(50)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    server.shutdown()
    serving.join()
    server.server_close()
    assert [a.status_code for a in answers] == [200] * 50
    db.session.expire_all()
    rows = db.session.scalars(
        select(Rsvp).where(Rsvp.event_id == event.id).order_by(Rsvp.queue_number)
    ).all()
    # Arrival order is the order the event's lock was taken: the first 20 go.
    assert [r.state for r in rows] == ["going"] * 20 + ["waitlisted"] * 30
    assert [r.queue_number for r in rows] == list(range(1, 51))
    assert db.session.get(Event, event.id).going_count == 20
    first_in_line = rows[20]
    services.rsvp(rows[0].user, event.id, False)
    db.session.refresh(first_in_line)
    assert first_in_line.state == "going"


def test_calendars_parse_and_follow_changes(client, areas, make_user):
    organizer = make_user(email="org@example.org")
    event = make_event(organizer)
    person = make_user(email="p@example.org")
    services.rsvp(person, event.id, True)
    one = Calendar.from_ical(client.get(f"/events/{event.id}.ics").data)
    [entry] = one.walk("VEVENT")
    assert str(entry["summary"]) == "Block party" and entry["sequence"] == 0
    assert entry.decoded("dtstart") == event.starts_at.replace(microsecond=0)
    moved = services.EventInput(
        kind="social",
        title="Block party",
        starts_at=event.starts_at + timedelta(days=1),
        ends_at=event.ends_at + timedelta(days=1),
        place="Palmer Park",
        lat=FISHTOWN[0],
        lon=FISHTOWN[1],
        capacity=20,
    )
    services.update_event(organizer, event.id, moved)
    services.cancel_event(organizer, event.id)
    area_feed = Calendar.from_ical(client.get("/events/areas/fishtown.ics").data)
    [entry] = area_feed.walk("VEVENT")
    assert entry["sequence"] == 2 and str(entry["status"]) == "CANCELLED"
    assert entry["uid"] == one.walk("VEVENT")[0]["uid"]
    token = calendar.feed_token(person)
    mine = Calendar.from_ical(client.get(f"/events/feeds/{token}.ics").data)
    assert len(mine.walk("VEVENT")) == 1
    assert client.get("/events/feeds/forged.ics").status_code == 404


def test_a_reminder_arrives_once(app, areas, make_user):
    organizer = make_user(email="org@example.org")
    soon = make_event(organizer, starts_at=at(10), ends_at=at(12))
    later = make_event(organizer, starts_at=at(60), ends_at=at(62))
    person = make_user(email="goer@example.org")
    services.rsvp(person, soon.id, True)
    services.rsvp(person, later.id, True)
    assert reminders.send_reminders() == 1  # as the worker runs it: no request
    assert reminders.send_reminders() == 0  # once
    [reminder] = told(person)
    assert (reminder.kind, reminder.item_id) == ("event_soon", soon.id)
    # Mailed at once by the notifications' sender, as the events group is by default.
    assert reminder.in_app and reminder.email_now
    assert "Block party" in text_of(reminder)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, "JPEG")
    return out.getvalue()


def test_a_cleanup_linked_to_five_tickets_reports_back(client, areas, make_user):
    from portal.tickets.services import queue_ticket

    organizer = make_user(email="org@example.org")
    tickets = [
        queue_ticket(
            "SBX-DUMP",
            lat=FISHTOWN[0] + n / 2000,
            lon=FISHTOWN[1],
            area=locate(FISHTOWN[0] + n / 2000, FISHTOWN[1]),
        )
        for n in range(5)
    ]
    wrong = queue_ticket("SBX-SLO", lat=FISHTOWN[0], lon=FISHTOWN[1])
    with pytest.raises(ValidationFailed):  # a street light is no cleanup's job
        cleanups.links_for([wrong.id])
    db.session.rollback()
    event = services.create_event(
        organizer,
        services.EventInput(
            kind="cleanup",
            title="Alley cleanup",
            starts_at=datetime.now(UTC) + timedelta(hours=1),
            ends_at=datetime.now(UTC) + timedelta(hours=3),
            lat=FISHTOWN[0],
            lon=FISHTOWN[1],
        ),
        cleanups.links_for([t.id for t in tickets]),
    )
    with pytest.raises(Conflict):  # not over yet
        cleanups.report(organizer, event.id, tickets[0].id, "cleaned")
    db.session.rollback()
    event.starts_at = datetime.now(UTC) - timedelta(hours=3)
    event.ends_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    for number, ticket in enumerate(tickets):
        outcome = "cleaned" if number < 4 else "not_cleaned"
        cleanups.report(
            organizer, event.id, ticket.id, outcome, f"bag {number}", jpeg(), jpeg()
        )
    links = cleanups.links_of(event)
    assert [link.outcome for link in links] == ["cleaned"] * 4 + ["not_cleaned"]
    assert all(link.before_photo and link.after_photo for link in links)
    notes = db.session.scalars(
        select(Post).join(Thread).where(Thread.ticket_id.in_([t.id for t in tickets]))
    ).all()
    assert len([p for p in notes if "Alley cleanup" in p.source]) == 5
    page = client.get(f"/events/{event.id}").data.decode()
    assert page.count("not cleaned") == 1
    area_page = client.get(f"/areas/{event.area.slug}").data.decode()
    assert "Past cleanups" in area_page and "fixed 4 requests" in area_page
    assert db.session.get(Ticket, tickets[0].id).status == "open"


def test_the_organizers_pages(client, auth, areas, make_user):
    from tests.conftest import csrf_token

    make_user(email="org@example.org", name="Org")
    goer = make_user(email="goer@example.org", name="Goer")
    auth.login("org@example.org")
    token = csrf_token(client, "/events/new")
    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    form = {
        "csrf_token": token,
        "kind": "meeting",
        "title": "Town hall",
        "date": day,
        "start": "18:00",
        "end": "17:00",
        "place": "1200 Frankford Ave",
        "capacity": "30",
    }
    wrong = client.post("/events/new", data=form)
    assert wrong.status_code == 422 and "The end must come after" in wrong.data.decode()
    made = client.post("/events/new", data={**form, "end": "20:00"})
    assert made.status_code == 302
    event = db.session.scalar(select(Event))
    assert event.place == "1200 Frankford Ave" and event.capacity == 30
    answer, _ = services.rsvp(goer, event.id, True)
    checked = client.post(
        f"/events/{event.id}/checkin/{answer.id}", data={"csrf_token": token}
    )
    assert checked.status_code == 302
    db.session.refresh(answer)
    assert answer.checked_in_at is not None
    roster = client.get(f"/events/{event.id}/attendees.csv").data.decode()
    assert "Goer,going,1," in roster and roster.strip().endswith(",yes")
    moved = client.post(
        f"/events/{event.id}/edit", data={**form, "end": "21:00", "start": "19:00"}
    )
    assert moved.status_code == 302
    db.session.refresh(event)
    assert event.sequence == 1
    cancelled = client.post(f"/events/{event.id}/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 302
    auth.logout()
    auth.login("goer@example.org")
    old_page = client.get("/notices")
    assert old_page.status_code == 301
    assert old_page.headers["Location"].endswith("/notifications")
    told_page = client.get("/notifications").data.decode()
    assert "Town hall changed: now" in told_page
    assert "Town hall is cancelled." in told_page
    mine = client.get("/events/mine").data.decode()
    assert "Town hall" in mine and "/events/feeds/" in mine
    assert client.get(f"/events/{event.id}/attendees.csv").status_code == 403
    refused = client.post(
        f"/events/{event.id}/cancel",
        data={"csrf_token": csrf_token(client, "/events/mine")},
    )
    assert refused.status_code == 403


def test_a_ticket_page_offers_a_cleanup(client, auth, areas, make_user):
    from portal.tickets.services import queue_ticket

    make_user(email="me@example.org")
    dumped = queue_ticket("SBX-DUMP", lat=FISHTOWN[0], lon=FISHTOWN[1])
    auth.login("me@example.org")
    page = client.get(f"/tickets/{dumped.id}").data.decode()
    assert f"/events/new?tickets={dumped.id}" in page
    form = client.get(f"/events/new?tickets={dumped.id}").data.decode()
    assert "A cleanup for these requests" in form


def test_ended_events_are_done(areas, make_user):
    organizer = make_user(email="org@example.org")
    event = make_event(organizer)
    assert services.finish_past_events(event.starts_at) == 0
    assert services.finish_past_events(event.ends_at + timedelta(minutes=1)) == 1
    db.session.refresh(event)
    assert event.status == "done"
