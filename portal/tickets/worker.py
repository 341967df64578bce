"""The city worker: send, resolve tokens and sync on a schedule until told to stop."""

import logging
import os
import socket
import threading
import time
from collections.abc import Callable

from flask import Flask

from portal.cityapi import get_city_api
from portal.cityapi.errors import CityAPIError
from portal.events.reminders import send_reminders
from portal.events.services import finish_past_events
from portal.extensions import db
from portal.tickets.sender import send_due
from portal.tickets.services import refresh_services
from portal.tickets.sync import pull_updates

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 10_000}"


def run_worker(
    app: Flask,
    stop: threading.Event,
    say: Callable[[str], None] = log.info,
    tick_sandbox: bool = False,
) -> None:
    """Loop until ``stop`` is set: send due tickets each interval, sync less often.

    Several workers may run at once (claims keep them apart); a killed worker's claims
    expire after CITY_LEASE_SECONDS and return to the queue.
    """
    name = worker_name()
    config = app.config
    next_sync = next_tick = next_services = 0.0
    while not stop.is_set():
        with app.app_context():
            api = get_city_api()
            try:
                if time.monotonic() >= next_services:
                    # Filing needs the city's current services and their questions.
                    count, _questions = refresh_services(api)
                    next_services = time.monotonic() + config["CITY_SERVICES_INTERVAL"]
                    say(f"services: {count} from the city")
                report = send_due(api, worker=name)
                if report.claimed or report.tokens_resolved:
                    say(
                        f"sent {report.sent}, found {report.adopted}, "
                        f"tokens {report.pending_token} new "
                        f"{report.tokens_resolved} resolved, "
                        f"rejected {report.rejected}, retrying {report.retrying}, "
                        f"failed {report.failed}"
                    )
                if time.monotonic() >= next_sync:
                    synced = pull_updates(api)
                    next_sync = time.monotonic() + config["CITY_SYNC_INTERVAL"]
                    if synced.created or synced.updated:
                        say(f"sync: {synced.created} new, {synced.updated} updated")
                reminded = send_reminders()
                if reminded:
                    say(f"event reminders: {reminded} sent")
                finish_past_events()
                if tick_sandbox and time.monotonic() >= next_tick:
                    from portal.sandbox.city import tick

                    tick(app.extensions["sandbox"].store)
                    next_tick = time.monotonic() + config["SANDBOX_TICK_INTERVAL"]
            except CityAPIError as error:
                say(f"the city is unavailable: {error.reason}")
            except (
                Exception
            ):  # keep the worker alive; the error is logged with its trace
                log.exception("city worker pass failed")
            finally:
                db.session.remove()
        stop.wait(config["CITY_WORKER_INTERVAL"])
