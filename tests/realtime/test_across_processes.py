"""Two web processes over one Redis: an emit on one reaches sockets on the other;
closing a person's sockets, and every rate limit, hold across both."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from portal.auth.services import create_token
from portal.cityapi import get_city_api
from portal.forums import services as forums
from portal.tickets.city_services import refresh_services
from tests.realtime.conftest import until

pytestmark = pytest.mark.db


def bearer(user) -> dict:
    _, secret = create_token(user, "test")
    return {"Authorization": f"Bearer {secret}"}


def test_a_reply_on_one_process_reaches_readers_on_both(
    app, web, make_user, make_area, visitors, sockets
):
    a, b = web
    author = make_user(email="author@example.org")
    thread = forums.create_thread(author, make_area("Fishtown"), "Lights", "Out again")
    readers = [sockets(process.url, "/forums") for process in (a, b)]
    for reader in readers:
        assert reader.call("join", {"thread": thread.id})["thread"] == thread.id
    answer = visitors().request(
        "POST",
        f"{a.url}/api/v1/threads/{thread.id}/posts",
        json={"body": "**Fixed** tonight"},
        headers=bearer(author),
    )
    assert answer.status_code == 201, answer.text
    for reader in readers:
        [post] = until(lambda r=reader: r.events("post_created"), what="the post")
        assert post["html"] == "<p><strong>Fixed</strong> tonight</p>"


def test_a_suspension_on_one_process_closes_the_members_sockets_on_both(
    app, web, make_user, visitors, sockets
):
    a, b = web
    member = make_user(email="member@example.org", name="Member")
    bystander = make_user(email="other@example.org", name="Other")
    moderator = make_user("moderator", None, "mod@example.org")
    phone, other = visitors(), visitors()
    assert phone.login(a.url, member.email).status_code == 302
    assert other.login(b.url, bystander.email).status_code == 302
    on_a = sockets(a.url, headers={"Cookie": phone.cookie})
    on_b = sockets(b.url, headers={"Cookie": phone.cookie})
    others = sockets(b.url, headers={"Cookie": other.cookie})
    assert on_b.call("whoami") == {"user": "Member"}
    assert others.call("whoami") == {"user": "Other"}
    until_ = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    acted_at = time.monotonic()  # the clock starts as the moderator's request goes
    answer = visitors().request(
        "POST",
        f"{a.url}/api/v1/moderation/users/{member.id}",
        json={"action": "suspend", "reason": "Threats", "until": until_},
        headers=bearer(moderator),
    )
    assert answer.status_code == 200, answer.text
    for socket in (on_a, on_b):
        assert socket.closed.wait(5), "the member's socket stayed open"
    closed_after = on_b.closed_at - acted_at
    assert closed_after < 1.0, f"closed on B {closed_after:.3f} s after the action"
    assert others.client.connected and others.call("whoami") == {"user": "Other"}


def test_signing_out_on_one_process_closes_that_logins_sockets_on_the_other(
    app, web, make_user, visitors, sockets
):
    a, b = web
    member = make_user(email="two-devices@example.org", name="Member")
    phone, laptop = visitors(), visitors()
    assert phone.login(a.url, member.email).status_code == 302
    assert laptop.login(b.url, member.email).status_code == 302
    phone_socket = sockets(b.url, headers={"Cookie": phone.cookie})
    laptop_socket = sockets(b.url, headers={"Cookie": laptop.cookie})
    assert phone_socket.call("whoami") == {"user": "Member"}
    assert phone.logout(a.url).status_code == 302
    assert phone_socket.closed.wait(WAIT_CLOSE), "the signed-out login's socket stayed"
    # The same person's other login keeps its live page.
    assert laptop_socket.call("whoami") == {"user": "Member"}


WAIT_CLOSE = 10.0


def test_failed_sign_ins_are_counted_across_processes(
    app, web, make_user, visitors, fresh_limits
):
    a, b = web
    member = make_user(email="guessed@example.org")
    guesser = visitors()
    limit = int(app.config["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])
    for attempt in range(limit):
        process = (a, b)[attempt % 2]
        assert guesser.login(process.url, member.email, "wrong").status_code == 400
    for process in (a, b):
        answer = guesser.login(process.url, member.email)  # even the right password
        assert answer.status_code == 429, answer.text


def test_the_filing_limit_holds_across_processes(
    app, web, make_user, make_area, visitors, fresh_limits
):
    a, b = web
    make_area("Fishtown")
    refresh_services(get_city_api())
    headers = bearer(make_user(email="filer@example.org"))
    http = visitors()

    def file(process, n):
        return http.request(
            "POST",
            f"{process.url}/api/v1/tickets",
            json={
                "service_code": "SBX-SD",
                "attributes": {"GAS": "no", "WATER": "no"},
                # Apart by more than the duplicate radius: each is a new problem.
                "lat": 39.95 + 0.002 * n,
                "lon": -75.15,
            },
            headers=headers,
        )

    filed = [file((a, b)[n % 2], n).status_code for n in range(3)]
    assert filed == [202, 202, 202]
    assert file(b, 3).status_code == 429
    assert file(a, 4).status_code == 429


def test_socket_event_limits_hold_across_processes(
    app, web, make_user, visitors, sockets, fresh_limits
):
    a, b = web
    member = make_user(email="chatty@example.org", name="Chatty")
    person = visitors()
    assert person.login(a.url, member.email).status_code == 302
    tabs = [sockets(p.url, headers={"Cookie": person.cookie}) for p in (a, b)]
    for n in range(8):  # SOCKET_EVENT_LIMIT of the web processes: 8 per minute
        assert tabs[n % 2].call("whoami") == {"user": "Chatty"}
    for tab in tabs:
        assert tab.call("whoami") is None
        [refused] = until(lambda t=tab: t.events("error"), what="the refusal")
        assert refused["code"] == "rate_limited"


def test_behind_the_proxy_each_visitors_sockets_count_alone(web, sockets, fresh_limits):
    # The proxy's layer must wrap Socket.IO's: else every signed-out socket has the
    # proxy's address, and one chatty visitor silences all the others.
    a, _b = web
    chatty, quiet = (
        sockets(a.url, headers={"X-Forwarded-For": address})
        for address in ("203.0.113.9", "198.51.100.4")
    )
    for _n in range(8):  # SOCKET_EVENT_LIMIT of the web processes: 8 per minute
        assert chatty.call("whoami") == {"user": None}
    assert chatty.call("whoami") is None
    assert quiet.call("whoami") == {"user": None}


def test_a_thread_unlisted_on_one_process_leaves_readers_on_the_other(
    app, web, make_user, make_area, visitors, sockets
):
    a, b = web
    area = make_area("Kensington")
    author = make_user(email="writer@example.org")
    moderator = make_user("moderator", None, "unlister@example.org")
    thread = forums.create_thread(author, area, "Street party", "Saturday")
    reader = sockets(b.url, "/forums", headers=bearer(author))
    watcher = sockets(b.url, "/forums", headers=bearer(moderator))
    for socket in (reader, watcher):
        assert socket.call("join", {"thread": thread.id})["thread"] == thread.id
    answer = visitors().request(
        "POST",
        f"{a.url}/api/v1/moderation/threads/{thread.id}",
        json={"action": "unlist", "reason": "Spam"},
        headers=bearer(moderator),
    )
    assert answer.status_code == 200, answer.text
    # The resident on B hears only that the thread is gone, not where it went...
    [farewell] = until(lambda: reader.events("thread_changed"), what="the farewell")
    assert farewell["id"] == thread.id and farewell["area"] is None
    # ...and nothing said in it afterwards; the moderator on B still follows it.
    reply = visitors().request(
        "POST",
        f"{a.url}/api/v1/threads/{thread.id}/posts",
        json={"body": "Still on?"},
        headers=bearer(moderator),
    )
    assert reply.status_code == 201, reply.text
    until(lambda: watcher.events("post_created"), what="the moderator's copy")
    assert reader.events("post_created") == []
    assert [e["area"] for e in watcher.events("thread_changed")] == ["kensington"]
