"""The outbox sender against the sandbox city: once and only once, whatever happens."""

from contextlib import closing
from datetime import timedelta

import pytest
from flask import current_app

from portal.auth.services import create_token
from portal.cityapi import build_client
from portal.dbtypes import utcnow
from portal.errors import PermissionDenied
from portal.extensions import db
from portal.sandbox.faults import THIRTY_PERCENT
from portal.tickets.sender import _outgoing, send_due
from portal.tickets.services import queue_ticket, retry_ticket
from tests.tickets.conftest import city_requests, drain

DUMPING = {"WHAT": ["tires"]}


def queue(code="SBX-DUMP", n=1, **fields):
    fields.setdefault("lat", 39.95)
    fields.setdefault("lon", -75.15)
    if code == "SBX-DUMP":
        fields.setdefault("attributes", DUMPING)
    return [queue_ticket(code, description=f"ticket {i}", **fields) for i in range(n)]


def test_queued_tickets_are_sent_with_the_citys_id(api, sandbox_server):
    (ticket,) = queue()
    report = send_due(api)
    assert (report.claimed, report.sent) == (1, 1)
    db.session.refresh(ticket)
    assert ticket.send_state == "sent" and ticket.city_id and ticket.attempts == 1
    (stored,) = city_requests(sandbox_server)
    assert stored.public_id == ticket.city_id
    assert stored.description == f"ticket 0\n\n[ref {ticket.ref}]"
    assert stored.attributes == DUMPING
    assert [e.kind for e in ticket.events] == ["filed", "sent"]


def test_rejected_is_posted_once_and_never_retried(api, sandbox_server):
    (ticket,) = queue("SBX-SD")  # its required questions are unanswered
    send_due(api)
    db.session.refresh(ticket)
    assert ticket.send_state == "rejected" and ticket.attempts == 1
    assert "attribute[GAS] is required" in ticket.last_error
    assert sandbox_server.app.extensions["sandbox_faults"].served == 1
    assert send_due(api).claimed == 0
    assert sandbox_server.app.extensions["sandbox_faults"].served == 1
    assert city_requests(sandbox_server) == []


def test_a_token_is_polled_never_posted_again(api, sandbox_server):
    (ticket,) = queue("SBX-AV", address="100 Market St", lat=None, lon=None)
    report = send_due(api)
    db.session.refresh(ticket)
    assert report.pending_token == 1 or report.tokens_resolved == 1
    assert ticket.token
    drain(api)
    db.session.refresh(ticket)
    assert ticket.city_id and ticket.send_state == "sent"
    assert len(city_requests(sandbox_server)) == 1
    assert [e.kind for e in ticket.events] == ["filed", "token", "sent"]


def test_retry_after_is_honoured_and_the_rest_wait_spread_out(api, sandbox_server):
    tickets = queue(n=5)
    sandbox_server.faults(unavailable=1.0, retry_after="30")
    before = utcnow()
    report = send_due(api)
    assert report.paused_for == 30
    assert sandbox_server.app.extensions["sandbox_faults"].served == 1  # not a burst
    waits = []
    for ticket in tickets:
        db.session.refresh(ticket)
        assert ticket.send_state == "queued"
        assert ticket.next_attempt_at >= before + timedelta(seconds=30)
        waits.append(ticket.next_attempt_at)
    assert len(set(waits)) == 5  # jittered: they will not all come back at once
    assert max(waits) - min(waits) > timedelta(seconds=1)


def test_backoff_grows_then_fails_and_an_admin_retries(
    make_app, sandbox_server, make_user, app
):
    app.config.update(CITY_MAX_ATTEMPTS=3, CITY_RETRY_BASE=10, CITY_RETRY_MAX=1000)
    from portal.cityapi import get_city_api

    api = get_city_api()
    (ticket,) = queue()
    sandbox_server.faults(error=1.0)
    delays = []
    for _ in range(3):
        started = utcnow()
        send_due(api)
        db.session.refresh(ticket)
        if ticket.next_attempt_at:
            delays.append((ticket.next_attempt_at - started).total_seconds())
            ticket.next_attempt_at = (
                utcnow()
            )  # skip the wait instead of sleeping through it
            db.session.commit()
    assert 5 <= delays[0] <= 10 and 10 <= delays[1] <= 20  # 10 s, then 20 s, jittered
    assert ticket.send_state == "failed" and ticket.attempts == 3
    assert "HTTP 500" in ticket.last_error
    with pytest.raises(PermissionDenied):
        retry_ticket(make_user(), ticket.id)
    sandbox_server.faults()
    retry_ticket(make_user(role="admin"), ticket.id)
    send_due(api)
    db.session.refresh(ticket)
    assert ticket.send_state == "sent"
    assert len(city_requests(sandbox_server)) == 1  # the 500s stored nothing
    assert "requeued" in [e.kind for e in ticket.events]


@pytest.mark.parametrize("fault", ["drop", "timeout", "malformed"])
def test_a_lost_answer_is_found_at_the_city_not_sent_again(
    app, impatient_api, sandbox_server, fault
):
    (ticket,) = queue()
    sandbox_server.faults(**{fault: 1.0, "timeout_seconds": 0.5})
    send_due(impatient_api)
    db.session.refresh(ticket)
    assert ticket.send_state == "queued" and ticket.maybe_stored
    sandbox_server.faults()
    ticket.next_attempt_at = utcnow()
    db.session.commit()
    # The search that finds it must not time out itself on a busy machine.
    app.config["CITY_TIMEOUT"] = 10.0
    with closing(build_client(app)) as patient:
        report = send_due(patient)
    db.session.refresh(ticket)
    assert report.adopted == 1 and ticket.send_state == "sent"
    (stored,) = city_requests(sandbox_server)
    assert stored.public_id == ticket.city_id


def test_a_worker_that_died_mid_post_loses_and_duplicates_nothing(api, sandbox_server):
    (ticket,) = queue()
    # The dead worker's story: it claimed the ticket, marked it, and its POST reached
    # the city; then the process died before it could record the answer.
    ticket.send_state, ticket.maybe_stored, ticket.attempts = "sending", True, 1
    ticket.first_attempt_at = utcnow()
    ticket.claimed_by, ticket.lease_until = (
        "dead-worker",
        utcnow() - timedelta(seconds=1),
    )
    db.session.commit()
    api.submit_request(_outgoing(ticket))
    report = send_due(api)
    db.session.refresh(ticket)
    assert report.adopted == 1 and ticket.send_state == "sent"
    assert len(city_requests(sandbox_server)) == 1


def test_a_live_claim_is_not_taken_over(api, sandbox_server):
    (ticket,) = queue()
    ticket.send_state, ticket.claimed_by = "sending", "busy-worker"
    ticket.lease_until = utcnow() + timedelta(minutes=1)
    db.session.commit()
    assert send_due(api).claimed == 0
    assert city_requests(sandbox_server) == []


def test_filing_and_pages_never_wait_on_the_city(client, sandbox_server):
    sandbox_server.faults(timeout=1.0, timeout_seconds=5)
    queue(n=3)
    assert client.get("/").status_code == 200
    assert client.get("/open311/v2/requests.json").status_code == 200
    assert sandbox_server.app.extensions["sandbox_faults"].served == 0


FAULTS = {**THIRTY_PERCENT, "timeout_seconds": 0.3, "seed": 7}


def test_the_filer_sees_the_send_state_and_an_admin_retries_by_api(
    api, client, sandbox_server, make_user
):
    filer, admin, other = make_user(), make_user(role="admin"), make_user()
    (ticket,) = queue(filed_by=filer)
    sandbox_server.faults(error=1.0)
    current_app.config["CITY_MAX_ATTEMPTS"] = 1
    send_due(api)

    def as_user(user):
        return {"Authorization": f"Bearer {create_token(user, 't')[1]}"}

    seen = client.get(f"/api/v1/tickets/{ticket.id}", headers=as_user(filer)).json
    assert seen["send_state"] == "failed" and "HTTP 500" in seen["last_error"]
    assert [e["kind"] for e in seen["events"]] == ["filed", "failed"]
    public = client.get(f"/api/v1/tickets/{ticket.id}").json
    assert public["send_state"] == "failed" and public["last_error"] is None
    refused = client.post(f"/api/v1/tickets/{ticket.id}/retry", headers=as_user(other))
    assert refused.status_code == 403
    sandbox_server.faults()
    retried = client.post(f"/api/v1/tickets/{ticket.id}/retry", headers=as_user(admin))
    assert retried.status_code == 200 and retried.json["send_state"] == "queued"
    again = client.post(f"/api/v1/tickets/{ticket.id}/retry", headers=as_user(admin))
    assert again.status_code == 422 and "ticket" in again.json["error"]["fields"]
    assert client.get("/api/v1/tickets/999999").status_code == 404
