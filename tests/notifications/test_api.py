"""/api/v1/notifications: token auth, the list and its pages, the count, marking
read, settings and watches, errors naming the field."""

import pytest

from portal.auth.services import create_token
from portal.extensions import db
from portal.notifications import services
from tests.notifications.conftest import told


@pytest.fixture
def ann(make_user, area):
    user = make_user(name="Ann")
    _token, secret = create_token(user, "tests")
    return user, {"Authorization": f"Bearer {secret}"}


def tell(user, n):
    for number in range(n):
        services.notify(
            "ticket_status",
            item=("ticket", number + 1),
            recipients=[user],
            values={"title": "Pothole", "status": "closed"},
            change=number,
        )
    db.session.commit()


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/api/v1/notifications"),
        ("get", "/api/v1/notifications/unread"),
        ("post", "/api/v1/notifications/1/read"),
        ("post", "/api/v1/notifications/read-all"),
        ("get", "/api/v1/notifications/settings"),
        ("put", "/api/v1/notifications/settings"),
        ("get", "/api/v1/notifications/watches"),
        ("post", "/api/v1/notifications/watches"),
        ("delete", "/api/v1/notifications/watches/1"),
    ],
)
def test_every_operation_needs_a_token_or_a_session(client, app, method, path):
    answer = getattr(client, method)(path, json={})
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "unauthorized"
    revoked = getattr(client, method)(
        path, json={}, headers={"Authorization": "Bearer np_nope"}
    )
    assert revoked.status_code == 401


def test_the_list_pages_back_and_filters_unread(client, ann):
    user, headers = ann
    tell(user, 3)
    page = client.get("/api/v1/notifications?limit=2", headers=headers).json
    assert page["unread"] == 3
    assert [item["item"] for item in page["items"]] == [
        {"type": "ticket", "id": 3},
        {"type": "ticket", "id": 2},
    ]
    first = page["items"][0]
    assert first["text"] == "Pothole is now closed."
    assert first["url"] == "/tickets/3" and first["read"] is False
    rest = client.get(
        f"/api/v1/notifications?limit=2&before={page['next']}", headers=headers
    ).json
    assert [i["item"]["id"] for i in rest["items"]] == [1] and rest["next"] is None
    marked = client.post(f"/api/v1/notifications/{first['id']}/read", headers=headers)
    assert marked.status_code == 200 and marked.json["read"] is True
    unread = client.get("/api/v1/notifications?unread=true", headers=headers).json
    assert [i["item"]["id"] for i in unread["items"]] == [2, 1]
    assert client.get("/api/v1/notifications/unread", headers=headers).json == {
        "unread": 2
    }
    everything = client.post("/api/v1/notifications/read-all", headers=headers).json
    assert everything == {"marked": 2, "unread": 0}


def test_someone_elses_notification_is_not_found(client, ann, make_user):
    _user, headers = ann
    other = make_user()
    tell(other, 1)
    (row,) = told(other)
    answer = client.post(f"/api/v1/notifications/{row.id}/read", headers=headers)
    assert answer.status_code == 404
    assert answer.json["error"]["fields"] == {"notification": "There is no "
                                              f"notification {row.id}."}  # fmt: skip


@pytest.mark.parametrize(
    "query, field",
    [("limit=0", "limit"), ("limit=101", "limit"), ("before=0", "before")],
)
def test_list_arguments_out_of_range_name_the_field(client, ann, query, field):
    answer = client.get(f"/api/v1/notifications?{query}", headers=ann[1])
    assert answer.status_code == 422 and field in answer.json["error"]["fields"]


def test_settings_are_read_and_changed_in_part(client, ann):
    _user, headers = ann
    before = client.get("/api/v1/notifications/settings", headers=headers).json
    assert before["groups"]["followed"] == {
        "in_app": True,
        "email_now": False,
        "digest": True,
    }
    changed = client.put(
        "/api/v1/notifications/settings",
        json={"groups": {"followed": {"email_now": True}}, "digest_hour": 6},
        headers=headers,
    )
    assert changed.status_code == 200
    assert changed.json["groups"]["followed"]["email_now"] is True
    assert changed.json["groups"]["followed"]["digest"] is True
    assert changed.json["digest_hour"] == 6


@pytest.mark.parametrize(
    "body, field",
    [
        ({"groups": {"pigeons": {"in_app": True}}}, "pigeons"),
        ({"groups": {"places": {"fax": True}}}, "places.fax"),
        ({"groups": {"places": {"in_app": "yes"}}}, "places.in_app"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_weekday": -1}, "digest_weekday"),
        ({"digest_frequency": "hourly"}, "digest_frequency"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_settings_refuse_what_is_not_a_setting_naming_it(client, ann, body, field):
    answer = client.put("/api/v1/notifications/settings", json=body, headers=ann[1])
    assert answer.status_code == 422
    assert field in answer.json["error"]["fields"]


def test_watches_are_added_listed_and_removed(client, ann, area):
    _user, headers = ann
    circle = client.post(
        "/api/v1/notifications/watches",
        json={"kind": "point", "lat": 39.95, "lon": -75.15, "radius": 300},
        headers=headers,
    )
    assert circle.status_code == 201 and circle.json["radius"] == 300
    watched = client.post(
        "/api/v1/notifications/watches",
        json={"kind": "area", "area": area.slug},
        headers=headers,
    )
    assert watched.status_code == 201 and watched.json["item_id"] == area.id
    listed = client.get("/api/v1/notifications/watches", headers=headers).json
    assert {w["kind"] for w in listed} == {"area", "point"}
    gone = client.delete(
        f"/api/v1/notifications/watches/{circle.json['id']}", headers=headers
    )
    assert gone.status_code == 204
    again = client.delete(
        f"/api/v1/notifications/watches/{circle.json['id']}", headers=headers
    )
    assert again.status_code == 404


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"kind": "point", "lat": 39.95, "lon": -75.15, "radius": 99}, 422, "radius"),
        ({"kind": "point", "lat": 39.95, "lon": -75.15, "radius": 2001}, 422, "radius"),
        ({"kind": "point", "lon": -75.15, "radius": 300}, 422, "lat"),
        ({"kind": "area", "area": "atlantis"}, 404, "area"),
        ({"kind": "star"}, 422, "kind"),
    ],
)
def test_a_bad_watch_names_the_field(client, ann, body, status, field):
    answer = client.post("/api/v1/notifications/watches", json=body, headers=ann[1])
    assert answer.status_code == status
    assert field in answer.json["error"]["fields"]
