"""Background duties: domains register what runs on a schedule; the worker runs them."""

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask


def worker_name() -> str:
    """This process and thread, as claims and logs name it."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10_000}"


class Budget:
    """How long one run of a duty may take. Duties look at it between steps (a ticket,
    a page, a definition) and stop there: a thread cannot be stopped from outside, so a
    long run ends itself at its next safe point and the rest waits for its next turn."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds

    def spent(self) -> bool:
        return time.monotonic() >= self.ends_at


@dataclass(frozen=True)
class Duty:
    """One thing the worker does again and again, on its own.

    :param name: what logs and the worker's lines call it.
    :param run: does one pass; answers a line worth saying, or None.
    :param every: the config key holding seconds between passes.
    :param budget: the config key holding the seconds one pass may take.
    :param serving_only: runs only beside the web server (`portal run`), never in a
        separate `portal city worker`.
    """

    name: str
    run: Callable[[Budget], str | None]
    every: str
    budget: str = "WORKER_DUTY_BUDGET"
    serving_only: bool = False
    enabled: Callable[[Flask], bool] = lambda app: True

    def interval(self, config) -> float:
        return float(config[self.every])

    def seconds(self, config) -> float:
        return float(config[self.budget])


def register_duty(app: Flask, duty: Duty) -> None:
    """Add a duty to the app's worker (one per name: registering again replaces it)."""
    app.extensions.setdefault("duties", {})[duty.name] = duty


def registered_duties(app: Flask, serving: bool = False) -> list[Duty]:
    """The duties a worker of this app runs (``serving``: beside the web server)."""
    duties = app.extensions.get("duties", {}).values()
    return [
        duty
        for duty in duties
        if (serving or not duty.serving_only) and duty.enabled(app)
    ]
