"""The map page (no tickets in its HTML), the list view, and the /map socket rooms."""

import re

from flask_socketio import SocketIOTestClient

from portal.extensions import socketio
from portal.tickets import notify
from tests.map.conftest import FISHTOWN, offset

PAYLOAD = '</script><script>alert(1)</script>"><img src=x onerror=alert(1)>${alert(1)}'


def test_the_map_page_never_carries_tickets(client, make_ticket):
    empty = client.get("/map")
    assert empty.status_code == 200
    for step in range(200):
        make_ticket(
            *offset(*FISHTOWN, north_m=step), commit=False, description="Marker text"
        )
    make_ticket(description="Marker text")
    full = client.get("/map")
    assert b"Marker text" not in full.data
    # Same page but for the per-render map id and nonce.
    assert abs(len(full.data) - len(empty.data)) < 100
    assert len(full.data) < 60 * 1024
    html = full.data.decode()
    # The portal's own copy (its file name may carry a content hash).
    assert re.search(r"/static/vendor/leaflet/leaflet(-[0-9a-f]+)?\.js", html)
    assert "cdn" not in html.lower()
    assert 'class="map-frame" aria-hidden="true"' in html


def test_the_list_is_nearest_first_and_escapes_city_text(client, make_ticket):
    far = make_ticket(*offset(*FISHTOWN, north_m=400), address="Far")
    near = make_ticket(*offset(*FISHTOWN, north_m=10), address=PAYLOAD)
    page = client.get(f"/map/list?near={FISHTOWN[0]},{FISHTOWN[1]}")
    html = page.data.decode()
    assert html.index(f"/tickets/{near.id}") < html.index(f"/tickets/{far.id}")
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;/script&gt;" in html


def test_the_list_searches_a_typed_address(client, make_area, make_ticket):
    make_area("Fishtown")
    near = make_ticket(39.9690, -75.1331)  # a few metres from 1200 Frankford Ave
    page = client.get("/map/list?q=1200 Frankford Avenue")
    assert page.status_code == 200
    assert "Near 1200 Frankford Ave" in page.data.decode()
    assert f"/tickets/{near.id}" in page.data.decode()
    nothing = client.get("/map/list?q=42 Nowhere Lane")
    assert "No place called" in nothing.data.decode()


def test_bad_list_parameters_fall_back_instead_of_failing(client):
    for query in ("near=abc", "near=999,999", "status=<x>", "since=-5", "area=nope"):
        assert client.get(f"/map/list?{query}").status_code == 200


def test_the_ticket_page_shows_history_and_escapes_text(client, make_ticket):
    ticket = make_ticket(description=PAYLOAD, address=PAYLOAD, status_notes="Crew sent")
    page = client.get(f"/tickets/{ticket.id}")
    html = page.data.decode()
    assert page.status_code == 200 and "Crew sent" in html
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert client.get("/tickets/999999").status_code == 404


def test_a_map_socket_joins_the_areas_in_view_and_hears_updates(
    app, make_area, make_ticket
):
    area = make_area("Fishtown", bounds=(-75.14, 39.96, -75.12, 39.98))
    make_area("Elsewhere", bounds=(-75.30, 40.10, -75.28, 40.12))
    ticket = make_ticket(area_id=area.id)
    socket = SocketIOTestClient(app, socketio, namespace="/map")
    joined = socket.emit(
        "view",
        {"bbox": [-75.15, 39.95, -75.11, 39.99]},
        namespace="/map",
        callback=True,
    )
    assert joined == {"areas": ["fishtown"]}
    socket.get_received("/map")
    notify.ticket_updated(ticket)
    [event] = socket.get_received("/map")
    assert event["name"] == "ticket_updated" and event["args"][0]["id"] == ticket.id
    socket.emit("view", {"bbox": [-75.31, 40.09, -75.27, 40.13]}, namespace="/map")
    socket.get_received("/map")
    notify.ticket_updated(ticket)
    assert socket.get_received("/map") == []
    socket.disconnect(namespace="/map")


def test_bad_socket_requests_get_an_error_event(app):
    socket = SocketIOTestClient(app, socketio, namespace="/map")
    socket.emit("view", {"bbox": [1, 2, "x", None]}, namespace="/map")
    socket.emit("watch_ticket", {"id": 424242}, namespace="/map")
    errors = [e["args"][0] for e in socket.get_received("/map") if e["name"] == "error"]
    assert [e["fields"] for e in errors] == [
        {"bbox": "Give bbox as four numbers."},
        {"id": "There is no ticket 424242."},
    ]
    socket.disconnect(namespace="/map")
