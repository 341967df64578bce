"""Bulk filing: a 500-row CSV with bad rows and duplicates ends exactly as it should
at the sandbox city (also through faults); bad files are refused whole with a clear
message; a batch sent twice files once."""

import csv
import io

import pytest
from flask_socketio import SocketIOTestClient
from sqlalchemy import func, select

from portal.auth.services import create_token
from portal.extensions import db, socketio
from portal.liaisons import batches, bulk
from portal.liaisons.models import Batch, BatchRow
from portal.tickets.models import Ticket
from portal.tickets.services import queue_ticket
from tests.liaisons.conftest import area, grid_points, points_in
from tests.tickets.conftest import city_requests, drain


def csv_bytes(rows: list[dict], columns=None, bom=False) -> bytes:
    columns = columns or ["service_code", "description", "lat", "lon", "address"]
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode()


def headers(user) -> dict:
    _, secret = create_token(user, "script")
    return {"Authorization": f"Bearer {secret}"}


def good_rows(count: int, seed: int = 0) -> list[dict]:
    """Rows far enough apart to be no duplicates of each other (``seed`` shifts
    them along the grid, so two sets do not overlap)."""
    points = grid_points(count + seed * 10)[seed * 10 :]
    return [
        {
            "service_code": "SBX-GR",
            "description": f"Tag number {n}",
            "lat": lat,
            "lon": lon,
            "attribute[RAIL]": "no",
        }
        for n, (lat, lon) in enumerate(points)
    ]


COLUMNS = ["service_code", "description", "lat", "lon", "address", "attribute[RAIL]"]
BAD_ROWS = [
    ({"service_code": "SBX-NOPE"}, "service_code"),
    ({"lat": "NaN"}, "lat"),
    ({"lat": "39.97", "lon": "-80.5"}, "lat"),  # far outside the city
    ({"lat": "", "lon": "", "address": "1 Nowhere Lane"}, "address"),
    ({"attribute[RAIL]": "maybe"}, "attribute[RAIL]"),
    ({"description": "x" * 4001}, "description"),
    ({"lat": "40.0400", "lon": "-75.0500"}, "lat"),  # Mayfair: not the liaison's
    ({"service_code": ""}, "service_code"),
    ({"lat": "abc"}, "lat"),
    ({"attribute[RAIL]": ""}, "attribute[RAIL]"),
]


def test_five_hundred_rows_with_bad_rows_and_duplicates(
    api, client, liaison, sandbox_server
):
    rows = good_rows(500)
    # Ten rows repeat open tickets the city already has (filed by someone else).
    for number, row in enumerate(rows[:10]):
        other = queue_ticket(
            "SBX-GR", lat=row["lat"], lon=row["lon"], attributes={"RAIL": "no"}
        )
        other.send_state, other.city_id = "sent", f"elsewhere-{number}"
    db.session.commit()
    # Twenty rows are wrong, each in a named cell.
    for index, (change, _column) in enumerate(BAD_ROWS * 2):
        rows[100 + index * 7] = {**rows[100 + index * 7], **change}
    answer = client.post(
        "/api/v1/batches",
        data=csv_bytes(rows, COLUMNS),
        headers={**headers(liaison), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 202, answer.get_json()
    body = answer.get_json()
    assert body["summary"] == {"queued": 470, "invalid": 20, "me_too": 10}
    invalid = [row for row in body["rows"] if row["state"] == "invalid"]
    assert [list(row["errors"]) for row in invalid] == [
        [column] for _change, column in BAD_ROWS * 2
    ]
    assert all(row["ticket"] for row in body["rows"][:10])
    sandbox_server.faults(unavailable=0.15, drop=0.1, error=0.05, seed=7)
    drain(api)
    stored = city_requests(sandbox_server)
    assert len(stored) == 470  # each good row sent once, the "me too" rows never
    filed = db.session.scalars(select(Ticket).where(Ticket.channel == "batch")).all()
    assert len(filed) == 470 and {t.send_state for t in filed} == {"sent"}
    assert {s.public_id for s in stored} == {t.city_id for t in filed}
    assert sum(t.supporters for t in db.session.scalars(select(Ticket))) == 10
    final = client.get(f"/api/v1/batches/{body['id']}", headers=headers(liaison))
    assert final.get_json()["summary"] == {"sent": 470, "invalid": 20, "me_too": 10}


def test_the_same_batch_twice_files_once(client, liaison):
    rows = {"rows": good_rows(3)}
    first = client.post("/api/v1/batches", json=rows, headers=headers(liaison))
    again = client.post("/api/v1/batches", json=rows, headers=headers(liaison))
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["replayed"] is True
    assert again.get_json()["id"] == first.get_json()["id"]
    keyed = {"Idempotency-Key": "run-1", **headers(liaison)}
    one = client.post("/api/v1/batches", json={"rows": good_rows(2, 5)}, headers=keyed)
    # A retry with the key answers the first batch even if the body changed.
    two = client.post("/api/v1/batches", json={"rows": good_rows(1, 9)}, headers=keyed)
    assert two.get_json()["id"] == one.get_json()["id"]
    assert db.session.scalar(select(func.count()).select_from(Batch)) == 2
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 5


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ("service_code,description\nSBX-SD,Café".encode("latin-1"), "not UTF-8"),
        (b"SBX-SD,hole,39.97,-75.13\n", "service_code is missing"),
        (b"service_code,colour\nSBX-SD,red\n", "Unknown columns: colour"),
        (b"service_code,lat,lat\nSBX-SD,1,2\n", "named twice"),
        (b"service_code,description\n", "no rows"),
        (b'service_code,description\nSBX-SD,"never closed\n', "malformed"),
        (b"service_code\n" + b"SBX-SD\n" * 5000, "at most 500"),
        (b"service_code,description\n" + b"SBX-SD," + b"x" * 10_000_000, "1 MB"),
        (b"\x00\x01\x02service_code", "not text"),
    ],
)
def test_a_bad_file_is_refused_whole_saying_why(client, liaison, data, says):
    answer = client.post(
        "/api/v1/batches",
        data=data,
        headers={**headers(liaison), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 422
    assert says in answer.get_json()["error"]["message"]
    assert "file" in answer.get_json()["error"]["fields"]
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert db.session.scalar(select(func.count()).select_from(Batch)) == 0


def test_bom_quotes_newlines_and_short_rows(client, liaison):
    (lat, lon), (lat2, lon2) = points_in("kensington", 2)
    text = (
        "\ufeffservice_code,description,lat,lon,attribute[RAIL]\r\n"
        f'SBX-GR,"Tag says ""hi""\nand more, on two lines",{lat},{lon},no\r\n'
        f"SBX-GR,short row,{lat2}\r\n"
    ).encode()
    answer = client.post(
        "/api/v1/batches",
        data=text,
        headers={**headers(liaison), "Content-Type": "text/csv"},
    )
    assert answer.status_code == 202
    first, second = answer.get_json()["rows"]
    assert first["state"] == "queued"
    ticket = db.session.get(Ticket, first["ticket"])
    assert ticket.description == 'Tag says "hi"\nand more, on two lines'
    assert ticket.on_behalf_of is None and ticket.channel == "batch"
    assert second["state"] == "invalid" and "row" in second["errors"]


def test_residents_and_other_areas_are_refused(client, city, make_user, liaison):
    resident = make_user(email="res@example.org")
    answer = client.post(
        "/api/v1/batches", json={"rows": good_rows(1)}, headers=headers(resident)
    )
    assert answer.status_code == 403
    assert client.get("/batches/new", headers=headers(resident)).status_code == 403
    mine = client.post(
        "/api/v1/batches", json={"rows": good_rows(1)}, headers=headers(liaison)
    )
    other = client.get(
        f"/api/v1/batches/{mine.get_json()['id']}", headers=headers(resident)
    )
    assert other.status_code == 404


def test_export_neutralizes_formulas(client, liaison):
    rows = good_rows(2)
    rows[0]["description"] = '=HYPERLINK("http://evil.example","x")'
    rows[1]["description"] = "@SUM(A1:A2)"
    answer = client.post(
        "/api/v1/batches", json={"rows": rows}, headers=headers(liaison)
    )
    batch = db.session.get(Batch, answer.get_json()["id"])
    exported = list(csv.reader(io.StringIO(batches.export_csv(batch))))
    assert exported[1][2] == "'" + rows[0]["description"]
    assert exported[2][2] == "'@SUM(A1:A2)"
    assert exported[1][5] == str(rows[0]["lon"])  # a negative number stays a number
    page = client.get(f"/batches/{batch.id}.csv", headers=headers(liaison))
    assert page.status_code == 200 and "'=HYPERLINK" in page.data.decode()


def test_fixing_a_bad_row_files_it(client, liaison):
    rows = good_rows(2)
    rows[1]["service_code"] = "SBX-NOPE"
    answer = client.post(
        "/api/v1/batches", json={"rows": rows}, headers=headers(liaison)
    )
    row = db.session.scalars(select(BatchRow).where(BatchRow.number == 2)).one()
    fixed = batches.fix_row(liaison, row.id, {**rows[1], "service_code": "SBX-GR"})
    assert fixed.outcome == "filed" and fixed.ticket.send_state == "queued"
    again = client.get(
        f"/api/v1/batches/{answer.get_json()['id']}", headers=headers(liaison)
    )
    assert again.get_json()["summary"] == {"queued": 2}


def test_the_batch_page_follows_sending_live(app, api, client, auth, liaison):
    batch, _replayed = bulk.file_batch(liaison, good_rows(3), "api")
    auth.login("liaison@example.org")
    with app.app_context():
        socket = SocketIOTestClient(
            app, socketio, namespace="/batches", flask_test_client=client
        )
        joined = socket.emit(
            "join", {"batch": batch.id}, namespace="/batches", callback=True
        )
    assert [row["state"] for row in joined["rows"]] == ["queued"] * 3
    page = client.get(f"/batches/{batch.id}").data.decode()
    assert page.count('data-state="queued"') == 3
    drain(api)
    events = [
        e for e in socket.get_received("/batches") if e["name"] == "batch_progress"
    ]
    sent = {e["args"][0]["row"] for e in events if e["args"][0]["state"] == "sent"}
    assert sent == {1, 2, 3}
    assert all(
        e["args"][0]["city_id"] for e in events if e["args"][0]["state"] == "sent"
    )
    socket.disconnect(namespace="/batches")
    stranger = SocketIOTestClient(app, socketio, namespace="/batches")
    stranger.emit("join", {"batch": batch.id}, namespace="/batches")
    [error] = [e for e in stranger.get_received("/batches") if e["name"] == "error"]
    assert error["args"][0]["code"] == "forbidden"


def test_the_multi_row_form_and_the_csv_upload(client, auth, liaison):
    auth.login("liaison@example.org")
    from tests.conftest import csrf_token

    token = csrf_token(client, "/batches/new")
    ((lat, lon),) = points_in("fishtown", 1, 3)
    form = {
        "csrf_token": token,
        "batch_key": "form-1",
        "row-1-service_code": "SBX-ALO",
        "row-1-address": "1200 Frankford Ave",
        "row-1-description": "Alley dark",
        "row-2-service_code": "SBX-ALO",
        "row-2-address": "9999 Nowhere St",
    }
    answer = client.post("/batches/new", data=form)
    assert answer.status_code == 302
    again = client.post("/batches/new", data=form)  # a double click
    assert again.location == answer.location
    page = client.get(answer.location).data.decode()
    assert 'data-state="queued"' in page and "not found" in page
    upload = {
        "csrf_token": token,
        "batch_key": "csv-1",
        "file": (io.BytesIO(csv_bytes(good_rows(2, 11), COLUMNS)), "rows.csv"),
    }
    done = client.post("/batches/new", data=upload, content_type="multipart/form-data")
    assert done.status_code == 302
    assert client.get(done.location).data.decode().count('data-state="queued"') == 2
    assert area("fishtown") is not None
