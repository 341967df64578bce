"""`portal city services|send|sync` against the sandbox city, over loopback."""

from sqlalchemy import select

from portal.extensions import db
from portal.tickets.models import CityService, Ticket
from portal.tickets.services import queue_ticket
from tests.tickets.conftest import city_requests


def test_city_services_stores_the_list_and_questions(runner, sandbox_server):
    result = runner.invoke(args=["city", "services"])
    assert result.exit_code == 0, result.output
    assert "31 services, 8 with questions" in result.output
    defect = db.session.get(CityService, "SBX-SD")
    assert defect.name == "Street Defect" and defect.group == "Streets Department"
    assert [a["code"] for a in defect.attributes][:2] == ["GAS", "WATER"]


def test_city_services_reports_an_unavailable_city(runner, sandbox_server):
    sandbox_server.faults(unavailable=1.0)
    result = runner.invoke(args=["city", "services"])
    assert result.exit_code == 1 and "HTTP 503" in result.output


def test_city_send_and_sync_print_what_they_did(runner, sandbox_server, make_area):
    make_area("Old City", (-75.20, 39.90, -75.10, 40.00))
    queue_ticket("SBX-DV", lat=39.95, lon=-75.15, description="overflowing")
    sent = runner.invoke(args=["city", "send"])
    assert sent.exit_code == 0 and "claimed 1: sent 1" in sent.output
    assert len(city_requests(sandbox_server)) == 1
    synced = runner.invoke(args=["city", "sync"])
    assert synced.exit_code == 0 and "1 requests: 0 new" in synced.output
    assert (
        len(db.session.scalars(select(Ticket)).all()) == 1
    )  # its own ticket, not a copy
