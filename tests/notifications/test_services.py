"""Writing notifications: one row per recipient and change, the actor left out,
settings respected; reading them: counts, visibility, marking read."""

import pytest
from sqlalchemy import func, select

from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.notifications import registry, services, settings
from portal.notifications.models import Notification
from tests.notifications.conftest import told


@pytest.fixture
def people(make_user):
    return [make_user(name=name) for name in ("Ann", "Bo", "Cy")]


def rows() -> int:
    return db.session.scalar(select(func.count()).select_from(Notification))


def test_one_row_per_recipient_and_never_the_actor(people):
    ann, bo, cy = people
    written = services.notify(
        "reply",
        item=("note", 7),
        recipients=[ann, bo, bo.id, cy],
        actor=cy,
        values={"title": "Broken streetlight"},
        change="post-1",
    )
    db.session.commit()
    assert written == 2
    assert [len(told(person)) for person in people] == [1, 1, 0]
    (row,) = told(ann)
    assert (row.kind, row.item_type, row.item_id, row.actor_id) == (
        "reply",
        "note",
        7,
        cy.id,
    )
    assert services.text_of(row) == "Cy replied in Broken streetlight"


def test_the_same_change_twice_is_told_once_and_another_change_again(people):
    ann, bo, _cy = people
    for _attempt in range(2):  # a retried request, a sync run again
        services.notify(
            "ticket_status", item=("ticket", 3), recipients=[ann, bo], change="t1"
        )
        db.session.commit()
    assert rows() == 2
    services.notify("ticket_status", item=("ticket", 3), recipients=[ann], change="t2")
    db.session.commit()
    assert [len(told(ann)), len(told(bo))] == [2, 1]


def test_a_rolled_back_change_tells_nobody(people):
    services.notify("reply", item=("note", 1), recipients=people[:1], change="p")
    db.session.rollback()
    assert rows() == 0
    assert db.session.info.get(services.PUSH) is None


def test_an_unknown_kind_is_a_programming_error(people):
    with pytest.raises(ValueError, match="unknown notification kind"):
        services.notify("bogus", item=("note", 1), recipients=people)


def test_settings_decide_the_channels_and_every_channel_off_writes_nothing(people):
    ann, bo, _cy = people
    settings.save_settings(
        ann,
        {"threads": {"in_app": False, "email_now": False, "digest": False}},
    )
    settings.save_settings(bo, {"threads": {"in_app": False, "email_now": True}})
    services.notify("reply", item=("note", 1), recipients=[ann, bo], change="p")
    db.session.commit()
    assert told(ann) == []
    (row,) = told(bo)
    assert (row.in_app, row.email_now) == (False, True)
    assert services.unread_count(bo) == 0  # not for the bell
    assert services.recent(bo)[0] == []


def test_settings_refuse_unknown_groups_channels_and_hours_naming_the_field(people):
    ann = people[0]
    with pytest.raises(ValidationFailed) as error:
        settings.save_settings(
            ann,
            {"bogus": {"in_app": True}, "places": {"pigeon": True}},
            {"hour": 24, "weekday": 7, "frequency": "hourly"},
        )
    assert set(error.value.fields) == {
        "bogus",
        "places.pigeon",
        "digest_hour",
        "digest_weekday",
        "digest_frequency",
    }
    db.session.rollback()
    chosen = settings.settings_of(ann)
    assert chosen["digest"] == {"frequency": "daily", "hour": 7, "weekday": 0}
    saved = settings.save_settings(ann, digest={"frequency": "weekly", "hour": "18"})
    assert saved["digest"] == {"frequency": "weekly", "hour": 18, "weekday": 0}


def test_items_someone_may_no_longer_see_are_neither_counted_nor_listed(
    people, monkeypatch
):
    ann = people[0]
    gone = set()
    monkeypatch.setitem(
        registry._TYPES,
        "note",
        registry.ItemType(visible=lambda user, ids: set(ids) - gone),
    )
    for thread in (1, 2):
        services.notify("reply", item=("note", thread), recipients=[ann], change="p")
        services.notify("mention", item=("note", thread), recipients=[ann])
    db.session.commit()
    assert services.unread_count(ann) == 4
    gone.add(2)  # a moderator unlisted thread 2
    assert services.unread_count(ann) == 2
    listed, _next = services.recent(ann)
    assert {row.item_id for row in listed} == {1}
    assert [g.item_id for g in services.grouped(ann)] == [1]


def test_marking_one_and_all_read(people):
    ann, bo, _cy = people
    for n in range(3):
        services.notify("reply", item=("note", n), recipients=[ann, bo], change=n)
    db.session.commit()
    first = told(ann)[0]
    services.mark_read(ann, first.id)
    services.mark_read(ann, first.id)  # again: no change
    assert services.unread_count(ann) == 2
    with pytest.raises(NotFound):
        services.mark_read(bo, first.id)  # not hers to mark
    assert services.mark_all_read(ann, item=("note", 1)) == 1
    assert services.mark_all_read(ann) == 1
    assert services.unread_count(ann) == 0
    assert services.unread_count(bo) == 3


def test_groups_are_by_item_newest_first_within_and_across(people):
    ann, bo, _cy = people
    for thread, change in ((1, "a"), (2, "b"), (1, "c")):
        services.notify("reply", item=("note", thread), recipients=[ann], change=change)
        db.session.commit()
    groups = services.grouped(ann)
    assert [g.item_id for g in groups] == [1, 2]
    assert [r.dedupe_key[-1] for r in groups[0].rows] == ["c", "a"]
    assert services.grouped(bo) == []


def test_pages_of_the_list_go_back_in_time(people):
    ann = people[0]
    for n in range(5):
        services.notify("reply", item=("note", n), recipients=[ann], change=n)
    db.session.commit()
    first, following = services.recent(ann, limit=3)
    rest, end = services.recent(ann, limit=3, before=following)
    assert [r.item_id for r in first + rest] == [4, 3, 2, 1, 0]
    assert end is None
