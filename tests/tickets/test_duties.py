"""The worker's duties run on their own: one failing or stuck never stops another, and a
definition the city cannot give leaves its service usable."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from portal.duties import Budget, Duty, register_duty, registered_duties
from portal.extensions import db
from portal.tickets.city_services import refresh_services
from portal.tickets.models import CityService, Ticket
from portal.tickets.sender import send_due
from portal.tickets.services import queue_ticket
from portal.worker import run_duty_once, run_worker
from tests.tickets.conftest import break_paths


def wait_until(condition, seconds=120):
    deadline = datetime.now(UTC) + timedelta(seconds=seconds)
    while not condition():
        assert datetime.now(UTC) < deadline, "timed out waiting"
        threading.Event().wait(0.05)  # polling the database, with a deadline


def sent_count() -> int:
    db.session.expire_all()
    return db.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.send_state == "sent")
    )


def test_a_broken_and_a_stuck_duty_leave_tickets_going_out(app, sandbox_server):
    break_paths(sandbox_server, {"/services.json": (500, "<h1>Server Error</h1>")})
    release = threading.Event()
    register_duty(
        app,
        Duty("stuck", lambda _: release.wait(300) and None, every="EVENTS_INTERVAL"),
    )
    app.config.update(CITY_WORKER_INTERVAL=0.05, WORKER_RETRY_FAILED=0.05)
    for number in range(5):
        queue_ticket("SBX-DV", lat=39.95, lon=-75.15, description=f"dumpster {number}")
    lines: list[str] = []
    stop = threading.Event()
    worker = threading.Thread(target=run_worker, args=(app, stop, lines.append))
    worker.start()
    try:
        wait_until(lambda: sent_count() == 5)
        wait_until(lambda: any(line.startswith("city-services:") for line in lines))
    finally:
        release.set()
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    failed = [line for line in lines if line.startswith("city-services:")]
    assert "the city is unavailable (HTTP 500)" in failed[0]
    assert "Server Error" in failed[0]  # the city's own words


def test_duties_come_from_every_domain_and_serving_only_ones_stay_in_run(app):
    names = {duty.name for duty in registered_duties(app)}
    assert {"city-services", "city-send", "city-tokens", "city-sync"} <= names
    assert {"event-reminders", "event-finish"} <= names
    assert "sandbox-tick" not in names  # a separate worker never moves the city
    serving = {duty.name for duty in registered_duties(app, serving=True)}
    # The tests' city is a real server (CITY_URL): nothing to move along either.
    assert "sandbox-tick" not in serving


def test_a_failing_duty_is_logged_and_answers_false(app, caplog):
    def broken(_budget):
        raise RuntimeError("a bug in one duty")

    duty = Duty("broken", broken, every="EVENTS_INTERVAL")
    assert run_duty_once(app, duty, say=lambda line: None) is False
    assert "worker duty broken failed" in caplog.text
    assert "a bug in one duty" in caplog.text


def test_a_definition_the_city_cannot_give_leaves_the_service_usable(
    app, sandbox_server, api
):
    refresh_services(api)
    questions = db.session.get(CityService, "SBX-SLO").attributes
    assert questions
    break_paths(
        sandbox_server,
        {
            "/services/SBX-SD.json": (404, '{"detail": "Not found."}'),
            "/services/SBX-SLO.json": (502, "<html><h1>Bad Gateway</h1></html>"),
        },
    )
    report = refresh_services(api)
    assert set(report.unreadable) == {"SBX-SD", "SBX-SLO"}
    assert "Not found." in report.unreadable["SBX-SD"]
    db.session.expire_all()
    defect = db.session.get(CityService, "SBX-SD")
    # Not there: usable without questions; the reason is kept for admins.
    assert defect.active and defect.attributes == []
    assert "Not found." in defect.definition_error
    # Only unavailable: the questions it gave before still hold.
    light = db.session.get(CityService, "SBX-SLO")
    assert light.active and light.attributes == questions
    assert "Bad Gateway" in light.definition_error
    dumping = db.session.get(CityService, "SBX-DUMP")
    assert dumping.attributes and dumping.definition_error is None
    # Filing still goes on; this city then asks for what it would not describe, and
    # its words reach the filer.
    ticket = queue_ticket("SBX-SD", lat=39.95, lon=-75.15, description="pothole")
    send_due(api)
    db.session.refresh(ticket)
    assert ticket.send_state == "rejected"
    assert "attribute[GAS] is required" in ticket.last_error


def test_a_spent_budget_puts_the_rest_back_in_the_queue(app, api):
    for number in range(3):
        queue_ticket("SBX-DV", lat=39.95, lon=-75.15, description=f"dumpster {number}")
    spent = Budget(0)
    report = send_due(api, budget=spent)
    assert report.claimed == 3 and report.sent == 0
    states = db.session.scalars(select(Ticket.send_state)).all()
    assert states == ["queued"] * 3
    db.session.expire_all()
    claimed = select(func.count()).where(Ticket.claimed_by.is_not(None))
    assert db.session.scalar(claimed) == 0
    assert send_due(api).sent == 3  # and the next pass sends them
