"""The filing pages without JavaScript: suggestion, questions, prompts, the result."""

import re

import pytest
from sqlalchemy import select

from portal.cityapi import get_city_api
from portal.extensions import db
from portal.tickets.city_services import refresh_services
from portal.tickets.models import Ticket
from tests.conftest import csrf_token


@pytest.fixture
def resident(app, make_area, make_user, auth):
    refresh_services(get_city_api())
    make_area("Fishtown")
    make_user(email="page@example.org")
    auth.login("page@example.org")


def form(client, **fields):
    data = {
        "csrf_token": csrf_token(client, "/tickets/new?service=SBX-SD"),
        "service_code": "SBX-SD",
        "attribute[GAS]": "no",
        "attribute[WATER]": "no",
        **fields,
    }
    return client.post("/tickets/new", data=data)


def test_signing_in_comes_first(client):
    assert client.get("/tickets/new").status_code == 302


def test_typed_text_suggests_services_and_a_service_asks_its_questions(
    client, resident
):
    page = client.get("/tickets/new?text=pothole in front of my house").data.decode()
    assert re.search(r'href="/tickets/new\?service=SBX-SD[^"]*">Street Defect', page)
    questions = client.get("/tickets/new?service=SBX-SD").data.decode()
    assert "Is gas escaping?" in questions and 'name="attribute[GAS]"' in questions
    assert 'type="number"' in questions  # SIZE is a number question


def test_a_complete_report_lands_on_its_page(client, resident):
    answer = form(client, lat="39.97", lon="-75.13", description="Deep hole")
    assert answer.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert answer.location.endswith(f"/tickets/{ticket.id}")
    page = client.get(answer.location).data.decode()
    assert "Waiting to be sent to the city." in page and "Deep hole" in page


def test_missing_answers_are_shown_by_the_question(client, resident):
    answer = form(client, **{"attribute[GAS]": "", "lat": "39.97", "lon": "-75.13"})
    assert answer.status_code == 422
    assert 'id="attribute-GAS-error"' in answer.data.decode()


def test_the_location_prompt_and_the_duplicate_prompt(client, resident):
    asked = form(client, lat="39.98", lon="-75.15", address="1200 Frankford Ave")
    assert asked.status_code == 409
    assert 'name="location_choice"' in asked.data.decode()
    assert form(client, lat="39.9700", lon="-75.1300").status_code == 302
    again = form(client, lat="39.9701", lon="-75.1300")
    assert again.status_code == 409
    page = again.data.decode()
    assert "Me too instead" in page and 'name="not_duplicate"' in page
    filed = form(client, lat="39.9701", lon="-75.1300", not_duplicate="1")
    assert filed.status_code == 302


def test_follow_and_me_too_buttons(client, resident, make_user, auth):
    form(client, lat="39.97", lon="-75.13")
    ticket = db.session.scalar(select(Ticket))
    auth.logout()
    make_user(email="other@example.org")
    auth.login("other@example.org")
    token = csrf_token(client, f"/tickets/{ticket.id}")
    client.post(f"/tickets/{ticket.id}/me-too", data={"csrf_token": token})
    page = client.get(f"/tickets/{ticket.id}").data.decode()
    assert "You said you have this problem too." in page and "Stop following" in page
    db.session.refresh(ticket)
    assert ticket.supporters == 1
    refused = client.post(f"/tickets/{ticket.id}/follow", data={})
    assert refused.status_code == 400
