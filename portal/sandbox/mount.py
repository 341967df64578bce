"""Serve the sandbox city inside the portal at /sandbox-city, created on first use."""

import threading

import httpx
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from portal.duties import Duty, register_duty
from portal.sandbox.server import create_sandbox_app, default_config

PREFIX = "/sandbox-city"


class LazySandbox:
    """The sandbox app, built when first spoken to (many tests never do)."""

    def __init__(self, portal: Flask):
        self._portal = portal
        self._app = None
        self._lock = threading.Lock()

    @property
    def app(self) -> Flask:
        with self._lock:
            if self._app is None:
                config = default_config(self._portal.instance_path)
                config.update(
                    (key, value)
                    for key, value in self._portal.config.items()
                    if key.startswith("SANDBOX_") and value is not None
                )
                self._app = create_sandbox_app(config)
            return self._app

    @property
    def store(self):
        """The sandbox city's tables (for ticking it from the portal's side)."""
        return self.app.extensions["sandbox_store"]

    def __call__(self, environ, start_response):
        return self.app(environ, start_response)


def mount_sandbox(portal: Flask) -> None:
    """Mount the sandbox at /sandbox-city; offer the client an in-process transport."""
    sandbox = LazySandbox(portal)
    portal.extensions["sandbox"] = sandbox
    portal.wsgi_app = DispatcherMiddleware(portal.wsgi_app, {PREFIX: sandbox})
    portal.extensions["sandbox_transport"] = lambda: httpx.WSGITransport(
        app=sandbox.app
    )

    def tick(_budget) -> None:
        from portal.sandbox.city import tick as move_along

        move_along(sandbox.store)

    # Beside `portal run` the built-in city moves its requests along, as a city would.
    register_duty(
        portal,
        Duty(
            "sandbox-tick",
            tick,
            every="SANDBOX_TICK_INTERVAL",
            serving_only=True,
            enabled=lambda app: not app.config.get("CITY_URL"),
        ),
    )
