"""The liaisons' notifications: the watchers of an area of a new meeting and of its
minutes (once), and a batch's filer of its end, with the counts, once the sandbox
city has answered for every ticket of it; never the actor, once whatever repeats."""

from datetime import timedelta

from sqlalchemy import select

from portal.dbtypes import utcnow
from portal.extensions import db
from portal.liaisons import batches, bulk, hearing, services
from portal.liaisons.models import BatchRow
from portal.notifications import services as notifications
from portal.notifications import watches
from portal.tickets.sender import send_due
from tests.liaisons.conftest import area, city, liaison  # noqa: F401
from tests.liaisons.test_bulk import good_rows
from tests.notifications.conftest import told
from tests.tickets.conftest import api, app_overrides  # noqa: F401


def test_a_new_meeting_and_its_minutes_reach_the_areas_watchers_once(
    make_user,
    liaison,  # noqa: F811
):
    fishtown = area("fishtown")
    captain = make_user("captain", fishtown, "cap@example.org", name="Cap")
    neighbor = make_user(email="n@example.org", name="Neighbor")
    stranger = make_user(email="s@example.org", name="Stranger")
    watches.watch_area(neighbor, "fishtown")
    watches.watch_area(stranger, "kensington")
    meeting = services.create_meeting(
        liaison, fishtown, "Block meeting", utcnow() + timedelta(days=3), "Library", []
    )
    for person in (captain, neighbor):
        [row] = told(person)
        assert (row.kind, row.item_type, row.item_id) == (
            "new_meeting",
            "meeting",
            meeting.id,
        )
        assert row.actor_id == liaison.id
        assert notifications.text_of(row) == (
            f"New meeting in {fishtown.name}: Block meeting"
        )
    assert told(liaison) == [] and told(stranger) == []
    services.publish_minutes(liaison, meeting.id, "We met. Lights on 2nd St.", 12)
    services.publish_minutes(liaison, meeting.id, "We met. Lights on 3rd St.", 12)
    for person in (captain, neighbor):
        assert [r.kind for r in told(person)] == ["new_meeting", "minutes_published"]
    assert notifications.text_of(told(captain)[1]) == (
        "Minutes published: Block meeting"
    )
    assert told(liaison) == [] and told(stranger) == []


def done(user):
    # The filer also hears of each ticket (the tickets' own kinds): not counted here.
    return told(user, "batch_finished")


def _tickets(batch):
    rows = db.session.scalars(
        select(BatchRow).where(BatchRow.batch_id == batch.id).order_by(BatchRow.number)
    )
    return [row.ticket for row in rows]


def test_a_batch_tells_its_filer_once_when_the_city_has_answered_for_all(
    app,
    api,  # noqa: F811
    sandbox_server,
    make_user,
    liaison,  # noqa: F811
):
    captain = make_user("captain", area("fishtown"), "cap@example.org", name="Cap")
    batch, _replayed = bulk.file_batch(liaison, good_rows(3), "api")
    sent, refused, later = _tickets(batch)
    # The city refuses this one: its service's required questions go unanswered.
    refused.service_code, refused.attributes = "SBX-SD", {}
    # And this one waits: the first pass leaves the batch unfinished.
    later.next_attempt_at = utcnow() + timedelta(days=1)
    db.session.commit()
    send_due(api)
    db.session.expire_all()
    assert (sent.send_state, refused.send_state) == ("sent", "rejected")
    assert done(liaison) == []
    # The last one: the city answers 500 and the sender gives up (an admin looks).
    app.config["CITY_MAX_ATTEMPTS"] = 1
    sandbox_server.faults(error=1.0)
    later.next_attempt_at = utcnow()
    db.session.commit()
    send_due(api)
    sandbox_server.faults()
    db.session.expire_all()
    assert later.send_state == "failed"
    [row] = done(liaison)
    assert (row.kind, row.item_type, row.item_id) == (
        "batch_finished",
        "batch",
        batch.id,
    )
    assert row.actor_id is None  # the city's answer, not the liaison's own act
    assert (row.values["sent"], row.values["rejected"], row.values["held"]) == (
        1,
        1,
        1,
    )
    assert notifications.text_of(row) == (
        f"Your batch #{batch.id} is done: 1 sent, 1 refused by the city, 1 held"
    )
    assert row.email_now  # the account group's channels by default
    # Looked at again (another line in a ticket's history): nothing more.
    assert notifications.notify_all(hearing.finished_batches({sent.id})) == 0
    send_due(api)
    assert len(done(liaison)) == 1 and done(captain) == []
    # The refused row fixed and filed again: its end is news again.
    refused_row = db.session.scalars(
        select(BatchRow).where(BatchRow.ticket_id == refused.id)
    ).one()
    batches.fix_row(
        liaison, refused_row.id, {**good_rows(3)[1], "service_code": "SBX-GR"}
    )
    assert len(done(liaison)) == 1  # queued again: not done yet
    send_due(api)
    first, second = done(liaison)
    assert (second.values["sent"], second.values["rejected"]) == (2, 0)
    assert second.dedupe_key != first.dedupe_key


def test_a_batch_with_nothing_to_send_tells_nobody(
    api,  # noqa: F811
    liaison,  # noqa: F811
):
    rows = good_rows(2)
    for row in rows:
        row["service_code"] = "SBX-NOPE"  # every row invalid: nothing is filed
    bulk.file_batch(liaison, rows, "api")
    send_due(api)
    assert told(liaison) == []
