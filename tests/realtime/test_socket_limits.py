"""The socket event limiter on a real Redis: one count for every process; with Redis
away, a count in each process's memory (never an error, never a refusal of all);
back on Redis once it answers again."""

import pytest
from limits import parse

from portal.extensions import socketio
from portal.realtime import LocalManager, RedisQueue
from portal.sockets import SocketLimiter

TWO = parse("2 per minute")


@pytest.fixture
def own_redis():
    from tests import redis_server

    server = redis_server.start()
    yield server
    server.remove()


def test_processes_share_one_count(redis_server, fresh_limits):
    here, there = (SocketLimiter(redis_server.url) for _ in range(2))
    assert here.hit(TWO, "socket", "user:1") and there.hit(TWO, "socket", "user:1")
    assert not here.hit(TWO, "socket", "user:1")
    assert not there.hit(TWO, "socket", "user:1")


def test_redis_away_counts_in_memory_until_it_is_back(own_redis, caplog):
    limiter, other = SocketLimiter(own_redis.url), SocketLimiter(own_redis.url)
    limiter.RETRY_AFTER = 0  # look for Redis again at every event
    assert limiter.hit(TWO, "socket", "user:1")
    own_redis.stop()
    # Counted from zero in memory: looser for a while, but still a limit.
    assert limiter.hit(TWO, "socket", "user:1")
    assert limiter.hit(TWO, "socket", "user:1")
    assert not limiter.hit(TWO, "socket", "user:1")
    assert "socket limits count in memory" in caplog.text
    own_redis.start()
    assert limiter.hit(TWO, "socket", "user:2")  # on Redis again: others see it
    assert other.hit(TWO, "socket", "user:2")
    assert not other.hit(TWO, "socket", "user:2")
    # A later outage counts from zero again, not from what the last one left.
    own_redis.stop()
    assert limiter.hit(TWO, "socket", "user:1")
    assert limiter.hit(TWO, "socket", "user:1")
    assert not limiter.hit(TWO, "socket", "user:1")


def test_each_app_gets_its_own_manager(make_app, redis_server):
    # One SocketIO object serves every app a process builds: an app without Redis
    # built after one with it must not inherit its message queue.
    make_app(REDIS_URL=redis_server.url)
    assert isinstance(socketio.server.manager, RedisQueue)
    make_app()
    assert isinstance(socketio.server.manager, LocalManager)


def test_a_message_queue_that_is_not_redis_is_refused(make_app):
    with pytest.raises(ValueError, match="REDIS_URL must be a redis:// URL"):
        make_app(REDIS_URL="amqp://127.0.0.1:5672//", RATELIMIT_STORAGE_URI="memory://")
