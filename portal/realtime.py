"""Socket.IO bound to the app: the async mode the process runs under, and the message
queue that lets several web processes reach each other's sockets."""

import logging
import time
import uuid
from collections.abc import Callable

import redis
import socketio as python_socketio
from flask import Flask, has_app_context

from portal.extensions import db, socketio

log = logging.getLogger(__name__)

# Every Redis client of the portal gives up after this long (a stalled Redis must not
# hold a page); a Redis on the same network answers in well under a millisecond.
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
# A publish that failed stops the others for this long: while Redis is away, each
# emit would otherwise wait for it again.
PUBLISH_PAUSE = 1.0
# The listener waits this long for a message before looking again (never an error),
# and after losing Redis tries again after 1 s, doubling up to this many seconds.
LISTEN_WAIT = 1.0
RECONNECT_MAX = 5.0


def async_mode(app: Flask) -> str:
    """The configured mode; "auto" is gevent once gevent has patched this process."""
    mode = app.config["SOCKETIO_ASYNC_MODE"]
    if mode != "auto":
        return mode
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return "threading"
    return "gevent" if monkey.is_module_patched("socket") else "threading"


# Work every web process does for its own sockets when something changes: name ->
# handler(payload), registered by the domains (portal.forums.notify re-judges a
# thread's readers, whose rooms live where their sockets do).
_EVERYWHERE: dict[str, Callable[[dict], None]] = {}


def on_everywhere(name: str, handler: Callable[[dict], None]) -> None:
    _EVERYWHERE[name] = handler


def everywhere(name: str, payload: dict) -> None:
    """Run the handler registered as ``name`` here now, and in every other web
    process as the message reaches it (in order with the emits made after it)."""
    server = socketio.server
    if server is not None:
        server.manager.run_everywhere(name, payload)


class _SocketClosing:
    """Closing every socket of a room from the server side, in this process."""

    app: Flask | None = None

    def run_everywhere(self, name: str, payload: dict) -> None:
        self._run_here(name, payload)

    def _run_here(self, name: str, payload: dict) -> None:
        handler = _EVERYWHERE.get(name)
        if handler is None:
            log.warning("no handler for %s here: nothing done", name)
            return
        if has_app_context():
            handler(payload)
            return
        # From another process: Redis's listener has no app context of its own.
        with self.app.app_context():
            try:
                handler(payload)
            finally:
                db.session.remove()

    def close_sockets(self, room: str) -> int:
        """Disconnect the room's sockets, in every namespace; answers how many."""
        return self._close_here(room)

    def _close_here(self, room: str) -> int:
        closed = 0
        for namespace in list(self.get_namespaces()):
            for sid, _eio_sid in list(self.get_participants(namespace, room)):
                self.server.disconnect(sid, namespace=namespace, ignore_queue=True)
                closed += 1
        return closed


class LocalManager(_SocketClosing, python_socketio.Manager):
    """One process: rooms and sockets are all here."""


class RedisQueue(_SocketClosing, python_socketio.RedisManager):
    """Several processes over Redis: emits, and the closing of a room's sockets,
    reach every process; Redis away costs live updates, never a page.

    The closing travels as python-socketio's own ``close_room`` message with a
    ``disconnect`` flag, so that every process handles it (a process without this
    class only empties the room).
    """

    def __init__(self, url: str, channel: str = "flask-socketio"):
        super().__init__(url, channel=channel, redis_options=dict(REDIS_TIMEOUTS))
        self._publish_after = 0.0

    def initialize(self):
        # A server started before forking its workers gave them one id; each needs its
        # own, or a process takes the others' messages for its own and drops them.
        self.host_id = uuid.uuid4().hex
        super().initialize()

    def close_sockets(self, room: str) -> int:
        """Disconnect the room's sockets here and in every other process; answers how
        many were here (the others close theirs as the message reaches them)."""
        closed = self._close_here(room)
        self._publish(
            {
                "method": "close_room",
                "room": room,
                "namespace": "/",
                "disconnect": True,
                "host_id": self.host_id,
            }
        )
        return closed

    def run_everywhere(self, name: str, payload: dict) -> None:
        self._run_here(name, payload)
        self._publish(
            {
                "method": "close_room",
                "room": None,
                "namespace": "/",
                "call": name,
                "payload": payload,
                "host_id": self.host_id,
            }
        )

    def _handle_close_room(self, message):
        if message.get("call"):
            self._run_here(message["call"], message.get("payload") or {})
        elif message.get("disconnect"):
            self._close_here(message.get("room"))
        else:
            super()._handle_close_room(message)

    def _publish(self, data):
        message = self.json.dumps(data)
        if time.monotonic() < self._publish_after:
            return None  # Redis failed just now: the message is lost either way
        try:
            if self.redis is None:
                self.redis = redis.Redis.from_url(self.redis_url, **self.redis_options)
            return self.redis.publish(self.channel, message)
        except redis.RedisError as error:
            self._publish_after = time.monotonic() + PUBLISH_PAUSE
            log.warning("Redis is away; other processes miss a message: %s", error)
            return None

    def _listen(self):
        """The channel's messages, for ever: polled with a timeout (a blocking read
        would end with the socket timeout), subscribed again once Redis is back."""
        client = redis.Redis.from_url(self.redis_url, **self.redis_options)
        pubsub, delay, lost = None, 1.0, False
        while True:
            try:
                if pubsub is None:
                    pubsub = client.pubsub(ignore_subscribe_messages=True)
                    pubsub.subscribe(self.channel)
                    if lost:
                        log.warning("Redis is back: live updates resume")
                    delay, lost = 1.0, False
                message = pubsub.get_message(timeout=LISTEN_WAIT)
            except Exception as error:  # the loop must outlive anything Redis does
                if not lost:
                    log.warning("Redis is away; live updates wait for it: %s", error)
                lost = True
                if pubsub is not None:
                    pubsub.close()
                    pubsub = None
                self.server.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX)
                continue
            if message and message.get("type") == "message":
                yield message["data"]


def client_manager(app: Flask):
    url = app.config.get("REDIS_URL")
    if url and url.startswith(("redis://", "rediss://", "unix://")):
        return RedisQueue(url)
    if url:
        raise ValueError(f"REDIS_URL must be a redis:// URL, not {url.split(':')[0]}")
    return LocalManager()


def init_realtime(app: Flask) -> None:
    manager = client_manager(app)
    manager.app = app
    socketio.init_app(
        app,
        async_mode=async_mode(app),
        # Always given: the SocketIO object outlives each app (tests build many), and
        # would otherwise keep the previous app's manager.
        client_manager=manager,
        manage_session=False,
        transports=app.config["SOCKETIO_TRANSPORTS"],
    )
