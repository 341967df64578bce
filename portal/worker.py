"""The worker: each registered duty in a thread of its own, so none waits on another."""

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask

from portal.cityapi.errors import CityRejected, CityUnavailable
from portal.duties import Budget, Duty, registered_duties, worker_name
from portal.extensions import db
from portal.health import record_pass

log = logging.getLogger(__name__)

# How far past its budget a run may go before the worker says so (seconds).
OVERRUN_GRACE = 5.0


class _Watch:
    """Which duty runs since when, for the overrun warning."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: dict[str, tuple[Budget, bool]] = {}

    def started(self, name: str, budget: Budget) -> None:
        with self._lock:
            self._running[name] = (budget, False)

    def finished(self, name: str) -> None:
        with self._lock:
            self._running.pop(name, None)

    def overruns(self) -> list[tuple[str, float]]:
        """Duties past their budget not yet reported: (name, budget seconds)."""
        late = []
        now = time.monotonic()
        with self._lock:
            for name, (budget, told) in self._running.items():
                if not told and now > budget.ends_at + OVERRUN_GRACE:
                    self._running[name] = (budget, True)
                    late.append((name, budget.seconds))
        return late


def run_duty_once(app: Flask, duty: Duty, say, watch: _Watch | None = None) -> bool:
    """One pass of one duty in its own app context; False when it failed (logged)."""
    with app.app_context():
        budget = Budget(duty.seconds(app.config))
        if watch:
            watch.started(duty.name, budget)
        try:
            line = duty.run(budget)
            if line:
                say(line)
            return True
        except CityUnavailable as error:
            say(f"{duty.name}: {error.reason}")  # "the city is unavailable (…)"
            return False
        except CityRejected as error:
            say(f"{duty.name}: the city refused: {error.reason}")
            return False
        except Exception:  # one duty's bug never stops the others; the trace is logged
            log.exception("worker duty %s failed", duty.name)
            return False
        finally:
            if watch:
                watch.finished(duty.name)
            db.session.rollback()
            db.session.remove()


def _loop(app: Flask, duty: Duty, stop: threading.Event, say, watch: _Watch) -> None:
    while not stop.is_set():
        ok = run_duty_once(app, duty, say, watch)
        with app.app_context():
            record_pass(duty.name, worker_name(), ok)
            db.session.remove()
        wait = duty.interval(app.config)
        if not ok:
            # A failed pass comes back after WORKER_RETRY_FAILED, so an hourly duty
            # that failed does not leave the portal without it for an hour.
            wait = min(wait, max(float(app.config["WORKER_RETRY_FAILED"]), 0.0))
        stop.wait(wait)


def run_worker(
    app: Flask,
    stop: threading.Event,
    say: Callable[[str], None] = log.info,
    serving: bool = False,
) -> None:
    """Run every registered duty, each in its own thread, until ``stop`` is set.

    Several workers may run at once (the sender's claims keep them apart); a killed
    worker's claims expire after CITY_LEASE_SECONDS and return to the queue.
    :param serving: beside the web server (`portal run`): serving-only duties run too.
    """
    watch = _Watch()
    threads = [
        threading.Thread(
            target=_loop,
            args=(app, duty, stop, say, watch),
            name=f"duty-{duty.name}",
            daemon=True,
        )
        for duty in registered_duties(app, serving=serving)
    ]
    for thread in threads:
        thread.start()
    while not stop.wait(1.0):
        for name, seconds in watch.overruns():
            log.warning(
                "worker duty %s has run past its budget of %.0f s", name, seconds
            )
    for thread in threads:
        # Each stops at its next safe point; a call to the city ends by its timeout.
        thread.join(timeout=float(app.config["CITY_TIMEOUT"]) * 2 + 5)


def start_beside_server(app: Flask) -> threading.Event:
    """Every duty, serving-only ones too, in the background of a web process
    (`portal run`); answers the event that stops them."""
    from portal.extensions import socketio

    stop = threading.Event()
    socketio.start_background_task(run_worker, app, stop, serving=True)
    return stop
