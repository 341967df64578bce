"""The events' duties for the worker: reminders before, and closing events after."""

from flask import Flask

from portal.duties import Budget, Duty, register_duty
from portal.events.reminders import send_reminders
from portal.events.services import finish_past_events


def reminders(_budget: Budget) -> str | None:
    sent = send_reminders()
    return f"event reminders: {sent} sent" if sent else None


def finishing(_budget: Budget) -> str | None:
    done = finish_past_events()
    return f"events: {done} finished" if done else None


def register(app: Flask) -> None:
    register_duty(app, Duty("event-reminders", reminders, every="EVENTS_INTERVAL"))
    register_duty(app, Duty("event-finish", finishing, every="EVENTS_INTERVAL"))
