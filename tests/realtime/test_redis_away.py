"""Redis away, stalled or restarted under two web processes: pages, filing and sockets
keep answering (limits count in each process meanwhile); live updates between the
processes resume once it is back."""

import time

import pytest

from portal.cityapi import get_city_api
from portal.forums import services as forums
from portal.tickets.city_services import refresh_services
from tests import redis_server as redis_servers
from tests.realtime.conftest import (
    WAIT,
    start_processes,
    stop_processes,
    until,
    web_config,
)
from tests.realtime.test_across_processes import bearer

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def own_redis():
    """A Redis of this module's own: its tests stop and pause it."""
    server = redis_servers.start()
    yield server
    server.remove()


@pytest.fixture(scope="module")
def pair(database_url, own_redis, tmp_path_factory):
    """Two web processes for the module. Each test ends once they count limits in
    Redis again (Flask-Limiter, having lost Redis, looks for it only now and then),
    so the next test's outage finds them as the first one did."""
    folder = tmp_path_factory.mktemp("web-away")
    # Replies and filings are how these tests look, many of them and quickly; and
    # what an outage counted in a process's memory stays there (tests reuse ids).
    config = web_config(
        database_url,
        own_redis.url,
        folder,
        FORUM_POST_LIMIT="1000 per minute",
        FORUM_POST_LIMIT_NEW="1000 per minute",
        FILING_LIMIT="1000 per hour",
    )
    processes = start_processes(config, folder, own_redis)
    yield processes
    stop_processes(processes)


@pytest.fixture
def scene(app, pair, make_user, make_area, sockets):
    """A thread with a reader on each process, and its author's token."""
    make_area("Fishtown")
    refresh_services(get_city_api())
    author = make_user(email="author@example.org", name="Author")
    thread = forums.create_thread(author, author.home_area, "Lights", "Out again")
    readers = [sockets(process.url, "/forums") for process in pair]
    for reader in readers:
        assert reader.call("join", {"thread": thread.id})["thread"] == thread.id
    return {"thread": thread, "token": bearer(author), "readers": readers}


def reply(visitor, process, scene, body):
    return visitor.request(
        "POST",
        f"{process.url}/api/v1/threads/{scene['thread'].id}/posts",
        json={"body": body},
        headers=scene["token"],
    )


def received(reader, body: str) -> bool:
    return any(body in post["html"] for post in reader.events("post_created"))


def file(visitor, process, token, n):
    return visitor.request(
        "POST",
        f"{process.url}/api/v1/tickets",
        json={
            "service_code": "SBX-SD",
            "attributes": {"GAS": "no", "WATER": "no"},
            "lat": 39.95 + 0.002 * n,
            "lon": -75.15,
        },
        headers=token,
    )


def still_answering(pair, visitors, sockets, make_user, scene, tag: str) -> None:
    """Pages, sign-in and out, filing, replies and socket events all answer."""
    a, b = pair
    http = visitors()
    for process in pair:
        assert http.request("GET", f"{process.url}/").status_code == 200
        assert http.request("GET", f"{process.url}/map").status_code == 200
    member = make_user(email=f"{tag}@example.org", name=tag)
    person = visitors()
    assert person.login(b.url, member.email, "wrong").status_code == 400
    assert person.login(b.url, member.email).status_code == 302
    filer = bearer(member)
    assert file(http, a, filer, 0).status_code == 202
    assert file(http, b, filer, 1).status_code == 202
    # The reply reaches its own process's reader, with or without Redis.
    assert reply(http, a, scene, f"while {tag}").status_code == 201
    until(lambda: received(scene["readers"][0], f"while {tag}"), what="local post")
    # Socket events are answered and still counted, in memory: the limit holds
    # within each process (8 per minute in these processes).
    tab = sockets(a.url, headers={"Cookie": person.cookie})
    for _ in range(8):
        assert tab.call("whoami") == {"user": tag}
    assert tab.call("whoami") is None
    [refused] = until(lambda: tab.events("error"), what="the refusal")
    assert refused["code"] == "rate_limited"
    assert person.logout(a.url).status_code == 302
    assert tab.closed.wait(WAIT), "signing out closed not even this process's socket"


def reaches_b(pair, visitors, scene, body: str) -> None:
    """A reply on A reaches the reader on B."""
    assert reply(visitors(), pair[0], scene, body).status_code == 201
    until(lambda: received(scene["readers"][1], body), what="the post on B")


def resumes(pair, visitors, scene, tag: str) -> int:
    """Reply on A until a reply reaches B's reader; answers how many it took."""
    http, reader = visitors(), scene["readers"][1]
    deadline = time.monotonic() + 3 * WAIT  # the listener's backoff, on a busy machine
    for attempt in range(1, 1000):
        assert reply(http, pair[0], scene, f"{tag} {attempt}").status_code == 201
        try:  # any reply so far arriving will do: a busy machine is slow, not wrong
            until(lambda: received(reader, f"{tag} "), timeout=0.5, what="a post")
        except AssertionError:
            assert time.monotonic() < deadline, "live updates never resumed on B"
            continue
        return attempt
    raise AssertionError("live updates never resumed on B")


def back_on_redis(pair, own_redis, visitors, sockets) -> None:
    """Wait until every process counts both kinds of limit in Redis again."""
    http = visitors()

    def counts_in_redis(event) -> bool:
        own_redis.flush()
        event()
        return own_redis.key_count() > 0

    for process in pair:
        tab = sockets(process.url)
        page = f"{process.url}/open311/v2/servicerequestupdates.json"  # limited
        for name, event in (
            ("page limits", lambda p=page: http.request("POST", p)),
            ("socket limits", lambda t=tab: t.call("whoami")),
        ):
            until(
                lambda e=event: counts_in_redis(e),
                timeout=3 * WAIT,  # Flask-Limiter's own backoff, on a busy machine
                what=f"{name} counted in Redis again",
                every=0.25,
            )


def test_a_stalled_redis_holds_no_page(
    pair, own_redis, visitors, sockets, make_user, scene
):
    reaches_b(pair, visitors, scene, "before")
    # A stopped process answers nothing at all: connections open, replies never come.
    own_redis.pause()
    try:
        still_answering(pair, visitors, sockets, make_user, scene, "stalled")
    finally:
        own_redis.resume()
    resumes(pair, visitors, scene, "after")
    back_on_redis(pair, own_redis, visitors, sockets)


def test_a_stopped_redis_degrades_and_live_updates_resume_on_restart(
    pair, own_redis, visitors, sockets, make_user, scene
):
    reaches_b(pair, visitors, scene, "before")
    own_redis.stop()
    try:
        still_answering(pair, visitors, sockets, make_user, scene, "stopped")
    finally:
        own_redis.start()  # the same port, as a restarted Redis would come back
    resumes(pair, visitors, scene, "after")
    back_on_redis(pair, own_redis, visitors, sockets)
