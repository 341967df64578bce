"""Reading a filing from a request, the filer's rate-limit key, photo URLs: shared
by the filing page and the API."""

import re

from flask import current_app, request, url_for
from flask_login import current_user

from portal.tickets.filing import Filing

ATTRIBUTE = re.compile(r"^attribute\[([^\]]{1,64})\]$")


def filer_key() -> str:
    user = current_user
    return f"file:{user.id}" if user.is_authenticated else f"file:{request.remote_addr}"


def filing_limit() -> str:
    return current_app.config["FILING_LIMIT"]


def photo_url(key: str) -> str:
    return url_for("tickets.photo", name=f"{key}.jpg", _external=True)


def filing_from_form(form, files) -> Filing:
    attributes: dict = {}
    for name in form:
        match = ATTRIBUTE.match(name)
        if match:
            values = form.getlist(name)
            attributes[match.group(1)] = values if len(values) > 1 else values[0]

    def number(name):
        value = form.get(name, "").strip()
        return value or None

    return Filing(
        service_code=form.get("service_code", ""),
        description=form.get("description", ""),
        attributes=attributes,
        lat=number("lat"),
        lon=number("lon"),
        device_lat=number("device_lat"),
        device_lon=number("device_lon"),
        address=form.get("address", ""),
        location_choice=form.get("location_choice", ""),
        not_duplicate=form.get("not_duplicate") == "1",
        photos=[f.read() for f in files.getlist("photo") if f and f.filename],
    )
