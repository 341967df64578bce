"""The city link's duties for the worker: services, sending, tokens and the sync."""

from flask import Flask

from portal.cityapi import get_city_api
from portal.duties import Budget, Duty, register_duty, worker_name
from portal.tickets.city_services import refresh_services
from portal.tickets.sender import resolve_tokens, send_due
from portal.tickets.sync import pull_updates


def services(budget: Budget) -> str:
    report = refresh_services(get_city_api(), budget=budget)
    line = f"services: {report.count} from the city"
    if report.unreadable:
        line += f", {len(report.unreadable)} without their questions"
    return line


def sending(budget: Budget) -> str | None:
    report = send_due(get_city_api(), worker=worker_name(), budget=budget)
    if not report.claimed:
        return None
    return (
        f"sent {report.sent}, found {report.adopted}, tokens {report.pending_token}, "
        f"rejected {report.rejected}, retrying {report.retrying}, "
        f"held {report.held}, confirming {report.confirming}, failed {report.failed}"
    )


def tokens(budget: Budget) -> str | None:
    resolved = resolve_tokens(get_city_api(), budget=budget)
    return f"tokens: {resolved} resolved" if resolved else None


def sync(budget: Budget) -> str | None:
    report = pull_updates(get_city_api(), budget=budget)
    if report.created or report.updated:
        return f"sync: {report.created} new, {report.updated} updated"
    return None


def register(app: Flask) -> None:
    register_duty(app, Duty("city-services", services, every="CITY_SERVICES_INTERVAL"))
    register_duty(app, Duty("city-send", sending, every="CITY_WORKER_INTERVAL"))
    register_duty(app, Duty("city-tokens", tokens, every="CITY_WORKER_INTERVAL"))
    register_duty(
        app,
        Duty("city-sync", sync, every="CITY_SYNC_INTERVAL", budget="CITY_SYNC_BUDGET"),
    )
