"""The events' notifications: the watchers of an area of a new event; whoever
answered (going or waitlisted) of a move, a cancellation, a place freed for them,
and the day before; each once whatever repeats, never the actor. And migration
0015, which moved the old on-site notices into notifications."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from portal.dbtypes import utcnow
from portal.duties import Budget
from portal.errors import Conflict
from portal.events import reminders, services
from portal.extensions import db
from portal.notifications import services as notifications
from portal.notifications import watches
from portal.notifications.models import Notification
from tests.notifications.conftest import told

CENTER = (39.95, -75.15)
METRE = 1 / 111_195  # a metre of latitude, in degrees


def at(hours: float) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def make_event(user, hours=48, capacity=None, **change):
    given = services.EventInput(
        kind="cleanup",
        title=change.pop("title", "Park cleanup"),
        starts_at=at(hours),
        ends_at=at(hours + 3),
        place=change.pop("place", "Franklin Square"),
        lat=change.pop("lat", CENTER[0]),
        lon=change.pop("lon", CENTER[1]),
        capacity=capacity,
    )
    return services.create_event(user, given)


def edited(event, **change) -> services.EventInput:
    values = {
        "kind": event.kind,
        "title": event.title,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "place": event.place,
        "lat": event.lat,
        "lon": event.lon,
        "capacity": event.capacity,
        "description": event.description_source,
        **change,
    }
    return services.EventInput(**values)


@pytest.fixture
def people(make_user, area):
    return {
        name: make_user(email=f"{name.lower()}@example.org", name=name)
        for name in ("Org", "Ann", "Bo", "Cy", "Dee")
    }


def kinds(user) -> list[str]:
    return [row.kind for row in told(user)]


def test_a_new_event_tells_who_watches_its_area_or_a_circle_around_it(
    make_user, people, area
):
    org, ann, bo, cy, _dee = people.values()
    captain = make_user("captain", area, "cap@example.org", name="Cap")
    watches.watch_area(ann, area.slug)
    watches.watch_area(org, area.slug)  # the organizer watches too: not told
    watches.watch_point(bo, CENTER[0] + 150 * METRE, CENTER[1], 200)
    watches.watch_point(cy, CENTER[0] + 300 * METRE, CENTER[1], 200)  # too far
    event = make_event(org)
    for person in (ann, bo, captain):
        [row] = told(person)
        assert (row.kind, row.item_type, row.item_id) == (
            "new_event",
            "event",
            event.id,
        )
        assert notifications.text_of(row) == "New event in Old City: Park cleanup"
    assert told(org) == [] and told(cy) == []


def test_a_move_tells_everyone_who_answered_once(people, area):
    org, ann, bo, cy, _dee = people.values()
    event = make_event(org, capacity=1)
    services.rsvp(ann, event.id, True)  # going
    services.rsvp(bo, event.id, True)  # waitlisted
    services.rsvp(cy, event.id, False)  # not going: not told
    services.update_event(org, event.id, edited(event, title="Big park cleanup"))
    assert told(ann) == []  # a new title is no move
    later = (event.starts_at + timedelta(hours=2), event.ends_at + timedelta(hours=2))
    services.update_event(
        org, event.id, edited(event, starts_at=later[0], ends_at=later[1])
    )
    for person in (ann, bo):
        [row] = told(person)
        assert (row.kind, row.actor_id) == ("event_changed", org.id)
        assert notifications.text_of(row).startswith("Big park cleanup changed: now ")
    # Sent again as it is (a retried form): the same time, nothing more to tell.
    services.update_event(
        org, event.id, edited(event, starts_at=later[0], ends_at=later[1])
    )
    services.update_event(org, event.id, edited(event, place="Washington Square"))
    [_time, place] = told(ann)
    assert notifications.text_of(place).endswith("now at Washington Square")
    assert told(cy) == [] and told(org) == []


def test_a_cancellation_is_told_once_to_going_and_waitlisted(people, area):
    org, ann, bo, cy, _dee = people.values()
    event = make_event(org, capacity=1)
    services.rsvp(ann, event.id, True)
    services.rsvp(bo, event.id, True)
    services.rsvp(cy, event.id, False)
    services.cancel_event(org, event.id)
    with pytest.raises(Conflict):
        services.cancel_event(org, event.id)
    assert kinds(ann) == ["event_cancelled"] and kinds(bo) == ["event_cancelled"]
    assert notifications.text_of(told(ann)[0]) == "Park cleanup is cancelled."
    assert told(cy) == [] and told(org) == []


def test_each_promotion_from_the_waitlist_is_told_once(people, area):
    org, ann, bo, *_ = people.values()
    event = make_event(org, capacity=1)
    services.rsvp(ann, event.id, True)
    services.rsvp(bo, event.id, True)  # waitlisted
    services.rsvp(ann, event.id, False)  # Bo goes
    [row] = told(bo)
    assert (row.kind, row.actor_id) == ("event_promoted", ann.id)
    assert notifications.text_of(row) == (
        "A place opened up: you are going to Park cleanup."
    )
    services.rsvp(bo, event.id, True)  # asked again: nothing changes
    services.rsvp(ann, event.id, True)  # waitlisted now
    services.rsvp(bo, event.id, False)  # Ann goes
    services.rsvp(bo, event.id, True)  # Bo waits again
    services.rsvp(ann, event.id, False)  # and goes again: news again
    assert kinds(bo) == ["event_promoted", "event_promoted"]
    assert kinds(ann) == ["event_promoted"]
    # More places given by the organizer: the organizer is the actor.
    services.rsvp(ann, event.id, True)
    services.update_event(org, event.id, edited(event, capacity=2))
    assert told(ann)[-1].actor_id == org.id and len(told(ann)) == 2


def test_the_reminder_duty_run_twice_reminds_once_a_day_ahead(app, people, area):
    org, ann, bo, cy, _dee = people.values()
    soon = make_event(org, hours=20, capacity=1)
    far = make_event(org, hours=30)
    services.rsvp(ann, soon.id, True)
    services.rsvp(bo, soon.id, True)  # waitlisted: no place to be reminded of
    services.rsvp(cy, far.id, True)
    duty = app.extensions["duties"]["event-reminders"]
    assert duty.run(Budget(30)) == "event reminders: 1 sent"
    assert duty.run(Budget(30)) is None
    [row] = told(ann)
    assert (row.kind, row.item_id, row.actor_id) == ("event_soon", soon.id, None)
    assert row.in_app and row.email_now  # the events group's channels by default
    assert told(bo) == [] and told(cy) == []
    # 24 hours before the far one, it is due; the near one is not again.
    assert reminders.send_reminders(now=utcnow() + timedelta(hours=7)) == 1
    assert kinds(cy) == ["event_soon"] and len(told(ann)) == 1


def test_a_moved_event_is_reminded_of_again_for_its_new_time(people, area):
    org, ann, *_ = people.values()
    event = make_event(org, hours=10)
    services.rsvp(ann, event.id, True)
    assert reminders.send_reminders() == 1
    later = (event.starts_at + timedelta(hours=5), event.ends_at + timedelta(hours=5))
    services.update_event(
        org, event.id, edited(event, starts_at=later[0], ends_at=later[1])
    )
    assert reminders.send_reminders() == 1
    assert reminders.send_reminders() == 0
    assert kinds(ann) == ["event_soon", "event_changed", "event_soon"]


def test_the_old_notices_page_leads_to_notifications(client):
    answer = client.get("/notices")
    assert answer.status_code == 301
    assert answer.location.endswith("/notifications")


# --- migration 0015 ---

NOTICES = [
    # (id, user, text, url, read)
    (1, 1, "A place freed up: you are going to “Cleanup”.", "/events/7", False),
    (2, 1, "“Cleanup” on Dec 5 is cancelled.", "/events/7", True),
    (3, 2, "Something from long ago.", None, False),
]


def test_migration_0015_moves_every_notice_into_notifications(
    make_app, own_database_url
):
    app = make_app(SQLALCHEMY_DATABASE_URI=own_database_url)
    moment = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    with app.app_context():
        upgrade(revision="0014")
        meta = sa.MetaData()
        meta.reflect(db.engine, only=("users", "notices"))
        with db.engine.begin() as connection:
            connection.execute(
                meta.tables["users"].insert(),
                [
                    {
                        "id": n,
                        "email": f"u{n}@example.org",
                        "display_name": f"U{n}",
                        "password_hash": "x",
                        "created_at": moment,
                    }
                    for n in (1, 2)
                ],
            )
            connection.execute(
                meta.tables["notices"].insert(),
                [
                    {
                        "id": id_,
                        "user_id": user,
                        "text": text,
                        "url": url,
                        "created_at": moment,
                        "read_at": moment + timedelta(hours=1) if read else None,
                    }
                    for id_, user, text, url, read in NOTICES
                ],
            )
        upgrade(revision="0015")
        assert "notices" not in sa.inspect(db.engine).get_table_names()
        upgrade()  # the model reads today's columns (0016 adds mail state)
        rows = db.session.scalars(sa.select(Notification).order_by(Notification.id))
        moved = {row.dedupe_key: row for row in rows}
        assert sorted(moved) == ["notice:1", "notice:2", "notice:3"]
        first, second, third = (moved[f"notice:{n}"] for n in (1, 2, 3))
        assert (first.recipient_id, first.item_type, first.item_id) == (1, "event", 7)
        assert (third.item_type, third.item_id, third.url) == ("notice", 3, None)
        assert notifications.text_of(first) == NOTICES[0][2]
        assert first.read_at is None and second.read_at == moment + timedelta(hours=1)
        assert first.created_at == moment
        assert first.in_app and not (first.email_now or first.digest)
        assert notifications.unread_counts([1, 2]) == {1: 1, 2: 1}
        db.session.remove()
        # Back again: the notices return under their own ids, then forward once more.
        downgrade(revision="0014")
        with db.engine.connect() as connection:
            back = connection.execute(
                sa.text("SELECT id, user_id, text, url FROM notices ORDER BY id")
            ).all()
            left = connection.execute(sa.text("SELECT COUNT(*) FROM notifications"))
            assert left.scalar() == 0
        assert [tuple(row) for row in back] == [n[:4] for n in NOTICES]
        upgrade()
        assert db.session.scalar(sa.select(sa.func.count(Notification.id))) == 3
