"""The city's own words reach the filer and admins in every shape a server writes them,
a submission the city keeps failing on is held for an admin, and admins decide."""

import pytest
from sqlalchemy import select

from portal.cityapi import build_client
from portal.extensions import db
from portal.sandbox.dialects import set_dialects
from portal.tickets.city_services import refresh_services
from portal.tickets.models import Ticket
from portal.tickets.sender import send_due
from portal.tickets.services import queue_ticket
from tests.conftest import csrf_token
from tests.tickets.conftest import break_paths, city_requests

SHAPES = [
    None, "error_object", "error_detail_list", "error_detail", "error_string",
    "error_html",
]  # fmt: skip
# What the sandbox says when Street Defect's first required question is unanswered.
WORDS = "attribute[GAS] is required"


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("shape", SHAPES)
def test_a_refusal_reaches_the_filer_in_the_citys_words(
    app, client, auth, make_user, sandbox_server, shape, fmt
):
    set_dialects(sandbox_server.app, [shape] if shape else [])
    app.config["CITY_FORMAT"] = fmt
    api = build_client(app)
    filer = make_user(email="filer@example.org")
    ticket = queue_ticket(
        "SBX-SD", lat=39.95, lon=-75.15, description="pothole", filed_by=filer
    )
    send_due(api)
    db.session.refresh(ticket)
    assert ticket.send_state == "rejected"
    assert WORDS in ticket.last_error
    auth.login("filer@example.org")
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "The city did not accept this report." in page
    assert WORDS in page
    assert WORDS in client.get(f"/api/v1/tickets/{ticket.id}").json["last_error"]
    api.close()


def test_the_citys_words_are_the_filers_and_admins_alone(
    app, client, auth, make_user, sandbox_server, api
):
    ticket = queue_ticket("SBX-SD", lat=39.95, lon=-75.15, description="pothole")
    send_due(api)
    make_user(email="other@example.org")
    auth.login("other@example.org")
    assert WORDS not in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert client.get(f"/api/v1/tickets/{ticket.id}").json["last_error"] is None


def address_only(filer=None) -> Ticket:
    return queue_ticket(
        "SBX-DV", address="1400 John F Kennedy Blvd", description="overflowing",
        filed_by=filer,
    )  # fmt: skip


def test_the_same_server_error_again_and_again_holds_the_ticket(
    app, client, auth, make_user, sandbox_server
):
    # A server that reads `address` and crashes on an address-only POST, and a portal
    # told to send only the standard name.
    set_dialects(sandbox_server.app, ["address_field"])
    app.config.update(CITY_ADDRESS_FIELDS=["address_string"], CITY_HOLD_AFTER=3)
    api = build_client(app)
    filer = make_user(email="filer@example.org")
    ticket = address_only(filer)
    for _attempt in range(3):
        ticket.next_attempt_at = db.func.now()
        db.session.commit()
        send_due(api)
        db.session.refresh(ticket)
    assert ticket.send_state == "held" and ticket.attempts == 3
    assert "Internal Server Error" in ticket.last_error
    assert city_requests(sandbox_server) == []
    send_due(api)  # held: nobody sends it again on their own
    db.session.refresh(ticket)
    assert ticket.attempts == 3
    auth.login("filer@example.org")
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "an administrator will look at it before it is sent again" in page
    assert "Internal Server Error" in page
    api.close()


def test_both_address_names_reach_a_server_that_reads_address(sandbox_server, api):
    set_dialects(sandbox_server.app, ["address_field"])
    ticket = address_only()
    send_due(api)
    db.session.refresh(ticket)
    assert ticket.send_state == "sent"
    (stored,) = city_requests(sandbox_server)
    assert stored.address == "1400 John F Kennedy Blvd"


@pytest.fixture
def held(app, sandbox_server):
    set_dialects(sandbox_server.app, ["address_field"])
    app.config.update(CITY_ADDRESS_FIELDS=["address_string"], CITY_HOLD_AFTER=1)
    api = build_client(app)
    ticket = address_only()
    send_due(api)
    db.session.refresh(ticket)
    assert ticket.send_state == "held"
    yield ticket
    api.close()


def admin_page(client, auth, make_user):
    make_user(role="admin", email="admin@example.org")
    auth.login("admin@example.org")
    return client.get("/admin/city/")


def test_admins_see_what_did_not_reach_the_city(
    app, client, auth, make_user, held, api
):
    refresh_services(api)
    page = admin_page(client, auth, make_user)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'id="waiting-{held.id}"' in text
    assert "Held: the city gave the same error again and again." in text
    assert "Internal Server Error" in text
    assert "Every service's questions were read." in text


def test_an_admin_sends_a_held_ticket_again(app, client, auth, make_user, held, api):
    admin_page(client, auth, make_user)
    app.config["CITY_ADDRESS_FIELDS"] = ["address_string", "address"]
    token = csrf_token(client, "/admin/city/")
    answer = client.post(
        f"/admin/city/tickets/{held.id}/send-again", data={"csrf_token": token}
    )
    assert answer.status_code == 302
    db.session.refresh(held)
    assert held.send_state == "queued"
    send_due(build_client(app))
    db.session.refresh(held)
    assert held.send_state == "sent" and held.city_id


def test_an_admin_records_the_citys_number(client, auth, make_user, held):
    admin_page(client, auth, make_user)
    token = csrf_token(client, "/admin/city/")
    url = f"/admin/city/tickets/{held.id}/found"
    assert client.post(url, data={"csrf_token": token, "city_id": " "}).status_code
    db.session.refresh(held)
    assert held.send_state == "held"  # no number, nothing changed
    client.post(url, data={"csrf_token": token, "city_id": "CITY-77"})
    db.session.refresh(held)
    assert (held.send_state, held.city_id) == ("sent", "CITY-77")
    assert held.events[-1].source == "admin"
    # Once at the city it is not waiting for anything: a second number is refused.
    client.post(url, data={"csrf_token": token, "city_id": "CITY-78"})
    db.session.refresh(held)
    assert held.city_id == "CITY-77"


def test_residents_may_not_see_or_act_on_the_city_link(client, auth, make_user, held):
    make_user(email="resident@example.org")
    auth.login("resident@example.org")
    assert client.get("/admin/city/").status_code == 403
    token = csrf_token(client, "/")
    answer = client.post(
        f"/admin/city/tickets/{held.id}/send-again", data={"csrf_token": token}
    )
    assert answer.status_code == 403
    db.session.refresh(held)
    assert held.send_state == "held"
    assert db.session.scalar(select(Ticket.send_state)) == "held"


def test_a_search_the_city_refuses_leaves_the_ticket_waiting_never_posted(
    sandbox_server, api
):
    ticket = address_only()
    ticket.maybe_stored = True  # as after an answer that was lost
    db.session.commit()
    break_paths(
        sandbox_server, {"/requests.json": (400, '{"detail": "Range too large."}')}
    )
    report = send_due(api)  # the refusal never escapes the sender
    db.session.refresh(ticket)
    assert report.retrying == 1
    assert ticket.send_state == "queued" and ticket.maybe_stored
    assert "Range too large." in ticket.last_error
    assert city_requests(sandbox_server) == []
