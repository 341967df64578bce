"""Big numbers and far dates are harmless in the forums: a 422 naming the field, or
a value ignored (pages) or clamped (filters), never an overflow and a 500."""

from datetime import datetime, timedelta, timezone

import marshmallow as ma
import pytest

from portal.apiv1 import When, Whole
from portal.auth.services import create_token
from portal.errors import ValidationFailed
from portal.forums import api, moderation, moderation_api, services
from tests.conftest import AuthActions, csrf_token

HUGE = 2**70
FAR = ["9999-12-31T23:59:00-01:00", "0001-01-01T00:00:00+01:00"]


@pytest.fixture
def world(make_area, make_user):
    area = make_area("Fishtown")
    author = make_user(email="author@example.org", name="Author")
    thread = services.create_thread(author, area, "Lights", "Out again")
    return {
        "thread": thread,
        "author": author,
        "mod": make_user("moderator", area, "mod@example.org"),
        "site_mod": make_user("moderator", None, "smod@example.org"),
        "admin": make_user("admin", None, "admin@example.org"),
    }


def signed_in(app, email):
    client = app.test_client()
    AuthActions(client).login(email)
    return client


def bearer(user) -> dict:
    _, secret = create_token(user, "test")
    return {"Authorization": f"Bearer {secret}"}


def schemas():
    for module in (api, moderation_api):
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, ma.Schema):
                yield value


@pytest.mark.parametrize("schema", list(schemas()), ids=lambda s: s.__name__)
def test_every_number_and_date_of_the_forum_api_is_bounded(schema):
    for name, field in schema().fields.items():
        if isinstance(field, ma.fields.Integer):
            assert isinstance(field, Whole), name
        if isinstance(field, ma.fields.AwareDateTime):
            assert isinstance(field, When), name


def test_pages_ignore_numbers_past_what_a_row_can_have(app, world):
    thread = world["thread"]
    client = signed_in(app, "mod@example.org")
    assert client.get(f"/forums/fishtown/?page={HUGE}").status_code == 200
    path = f"/forums/threads/{thread.id}"
    assert client.get(f"{path}?page={HUGE}&quote={HUGE}").status_code == 200
    token = csrf_token(client, path)
    sent = client.post(path, data={"csrf_token": token, "body": "Hi", "quote": HUGE})
    assert sent.status_code == 302  # posted, quoting nothing
    assert client.get(f"/moderation/?page={HUGE}").status_code == 200
    bulk = client.post(
        "/moderation/posts",
        data={"csrf_token": token, "action": "hide", "reason": "x", "post": HUGE},
    )
    assert bulk.status_code == 303  # "choose at least one post"


def test_the_api_names_the_field_of_a_number_too_big(client, world):
    page = client.get(f"/api/v1/forums/fishtown/threads?page={2**63}")
    assert page.status_code == 422 and "page" in page.get_json()["error"]["fields"]
    quote = client.post(
        f"/api/v1/threads/{world['thread'].id}/posts",
        json={"body": "Hi", "quote": 2**63},
        headers=bearer(world["author"]),
    )
    assert quote.status_code == 422 and "quote" in quote.get_json()["error"]["fields"]


@pytest.mark.parametrize("until", FAR)
def test_a_sanction_until_the_calendars_edge_is_a_422(client, world, until):
    answer = client.post(
        f"/api/v1/moderation/users/{world['author'].id}",
        json={"action": "silence", "reason": "Heat", "until": until},
        headers=bearer(world["site_mod"]),
    )
    assert answer.status_code == 422, answer.get_json()
    assert "until" in answer.get_json()["error"]["fields"]
    # The rule itself refuses it too, whoever calls it (the page sends a duration).
    edge = datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=1)))
    with pytest.raises(ValidationFailed) as refused:
        moderation.moderate_user(world["site_mod"], world["author"].id, "silence",
                                 "Heat", edge)  # fmt: skip
    assert "until" in refused.value.fields
    assert not world["author"].is_silenced


def test_the_logs_dates_are_clamped_and_its_ids_bounded(app, world):
    moderation.moderate_thread(world["mod"], world["thread"].id, "lock")
    client = signed_in(app, "admin@example.org")
    for since in FAR[1:]:
        page = client.get("/moderation/log", query_string={"since": since})
        assert page.status_code == 200 and "<td>lock</td>" in page.data.decode()
    until = client.get("/moderation/log", query_string={"until": FAR[0]})
    assert until.status_code == 200 and "<td>lock</td>" in until.data.decode()
    later = client.get("/moderation/log", query_string={"since": FAR[0]})
    assert later.status_code == 200 and "No entries." in later.data.decode()
    bad = client.get("/moderation/log", query_string={"target_id": HUGE})
    assert bad.status_code == 422 and "target_id" in bad.data.decode()
