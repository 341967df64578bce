"""Socket.IO bound to the app: the async mode the process runs under, and the message
queue that lets several web processes reach each other's sockets."""

from flask import Flask

from portal.extensions import socketio


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


def init_realtime(app: Flask) -> None:
    socketio.init_app(
        app,
        async_mode=async_mode(app),
        message_queue=app.config.get("REDIS_URL"),
        manage_session=False,
        transports=app.config["SOCKETIO_TRANSPORTS"],
    )
