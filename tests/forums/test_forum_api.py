"""The forum JSON API: threads of an area, a thread with its posts, replies; the
same rules and field errors as the pages."""

import pytest

from portal.auth.services import create_token
from portal.forums import moderation, services


@pytest.fixture
def people(make_area, make_user):
    area = make_area("Fishtown")
    make_area("Kensington", bounds=(-75.13, 39.98, -75.10, 40.00))
    return {
        "area": area,
        "ann": make_user(email="ann@example.org", name="Ann"),
        "mod": make_user("moderator", area, "mod@example.org", name="Mod"),
    }


def headers(user) -> dict:
    _, secret = create_token(user, "test")
    return {"Authorization": f"Bearer {secret}"}


def test_start_list_read_and_reply(client, people):
    ann = headers(people["ann"])
    made = client.post(
        "/api/v1/forums/fishtown/threads",
        json={"title": "Alley lights", "body": "Out since **Friday**"},
        headers=ann,
    )
    assert made.status_code == 201
    thread = made.get_json()["thread"]
    assert thread["area"] == "fishtown" and thread["author"] == "Ann"
    assert "<strong>Friday</strong>" in made.get_json()["posts"][0]["html"]
    listed = client.get("/api/v1/forums/fishtown/threads").get_json()
    assert [t["title"] for t in listed["threads"]] == ["Alley lights"]
    assert listed["page"] == listed["pages"] == 1
    answer = client.post(
        f"/api/v1/threads/{thread['id']}/posts", json={"body": "Same"}, headers=ann
    )
    assert answer.status_code == 201 and answer.get_json()["thread"] == thread["id"]
    read = client.get(f"/api/v1/threads/{thread['id']}").get_json()
    assert [p["html"] for p in read["posts"]][1] == "<p>Same</p>"
    assert read["thread"]["post_count"] == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "", "body": "x"}, "title"),
        ({"title": "x" * 201, "body": "x"}, "title"),
        ({"title": "Hi", "body": "   "}, "body"),
        ({"title": "Hi", "body": "x" * 20_001}, "body"),
        ({"body": "x"}, "title"),
        ({"title": "Hi", "body": 5}, "body"),
    ],
)
def test_bad_threads_name_the_field(client, people, body, field):
    answer = client.post(
        "/api/v1/forums/fishtown/threads", json=body, headers=headers(people["ann"])
    )
    assert answer.status_code == 422
    assert field in answer.get_json()["error"]["fields"]
    assert client.get("/api/v1/forums/fishtown/threads").get_json()["threads"] == []


def test_refusals(client, people):
    ann, mod = people["ann"], people["mod"]
    thread = services.create_thread(ann, people["area"], "Topic", "Body")
    path = f"/api/v1/threads/{thread.id}/posts"
    anonymous = client.post(path, json={"body": "x"})  # no token, no session
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] == "unauthorized"
    revoked = client.post(
        path, json={"body": "x"}, headers={"Authorization": "Bearer np_nothing"}
    )
    assert revoked.status_code == 401
    moderation.moderate_thread(mod, thread.id, "lock")
    locked = client.post(path, json={"body": "x"}, headers=headers(ann))
    assert locked.status_code == 409
    assert "locked" in locked.get_json()["error"]["message"]
    moderation.moderate_thread(mod, thread.id, "delete", "Spam")
    gone = client.post(path, json={"body": "x"}, headers=headers(ann))
    assert gone.status_code == 404
    assert client.get(f"/api/v1/threads/{thread.id}").status_code == 404
    seen = client.get(f"/api/v1/threads/{thread.id}", headers=headers(mod))
    assert seen.status_code == 200 and seen.get_json()["thread"]["deleted"] is True
    assert client.get("/api/v1/forums/nowhere/threads").status_code == 404
    assert client.get("/api/v1/threads/999999").status_code == 404
    paged = client.get("/api/v1/forums/fishtown/threads?page=0")
    assert paged.status_code == 422 and "page" in paged.get_json()["error"]["fields"]


def test_a_hidden_post_reads_empty_except_to_its_author_and_moderators(client, people):
    ann, mod = people["ann"], people["mod"]
    thread = services.create_thread(ann, people["area"], "Topic", "My phone is 555")
    post = services.list_posts(thread).items[0]
    moderation.moderate_post(mod, post.id, "hide", "Private information")
    url = f"/api/v1/threads/{thread.id}"
    public = client.get(url).get_json()["posts"][0]
    assert public["html"] == "" and public["hidden"] and public["reason"] is None
    own = client.get(url, headers=headers(ann)).get_json()["posts"][0]
    assert "555" in own["html"] and own["reason"] == "Private information"
    staff = client.get(url, headers=headers(mod)).get_json()["posts"][0]
    assert "555" in staff["html"]
