"""A ticket's sending history (the city's reason for refusing, errors) is the filer's
and admins' to read, on the page and in the API alike; the city's status notes are
everyone's."""

import pytest

from portal.auth.services import create_token
from portal.extensions import db
from portal.tickets.services import queue_ticket, record

REASON = "Refused: the description names a private person, Jane Roe of 12 Elm St"


@pytest.fixture
def refused(make_user):
    filer = make_user(email="filer@example.org")
    ticket = queue_ticket(
        "SBX-PH", lat=39.95, lon=-75.15, description="Jane Roe's car", filed_by=filer
    )
    ticket.send_state, ticket.last_error = "rejected", REASON
    record(ticket, "rejected", "sender", notes=REASON, new="rejected")
    record(ticket, "status", "sync", notes="Crew sent out", new="open")
    db.session.commit()
    return filer, ticket


@pytest.mark.parametrize("role", ["anonymous", "resident", "moderator", "liaison"])
def test_others_never_read_the_citys_refusal(
    client, make_user, make_area, refused, role
):
    filer, ticket = refused
    headers = {}
    if role != "anonymous":
        user = make_user(role, make_area("Other") if role == "liaison" else None)
        headers = {"Authorization": f"Bearer {create_token(user, 't')[1]}"}
    body = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).json
    assert body["last_error"] is None
    assert REASON not in str(body)
    assert "Crew sent out" in [event["notes"] for event in body["events"]]
    page = client.get(f"/tickets/{ticket.id}", headers=headers).get_data(as_text=True)
    assert "Jane Roe of 12 Elm St" not in page and "Crew sent out" in page


@pytest.mark.parametrize("role", ["filer", "admin"])
def test_the_filer_and_admins_read_it(client, make_user, refused, role):
    filer, ticket = refused
    user = filer if role == "filer" else make_user("admin")
    headers = {"Authorization": f"Bearer {create_token(user, 't')[1]}"}
    body = client.get(f"/api/v1/tickets/{ticket.id}", headers=headers).json
    assert body["last_error"] == REASON
    assert REASON in [event["notes"] for event in body["events"]]
