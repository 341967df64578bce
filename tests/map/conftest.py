"""Ticket factories for the map tests."""

from datetime import UTC, datetime

import pytest

from portal.extensions import db
from portal.tickets.models import CityService, Ticket

FISHTOWN = (39.9730, -75.1290)


@pytest.fixture
def make_ticket(app):
    def build(lat=FISHTOWN[0], lon=FISHTOWN[1], commit=True, **fields):
        fields.setdefault("service_code", "SBX-SD")
        fields.setdefault("status", "open")
        fields.setdefault("requested_at", datetime(2026, 11, 1, tzinfo=UTC))
        ticket = Ticket(lat=lat, lon=lon, **fields)
        db.session.add(ticket)
        if commit:
            db.session.commit()
        return ticket

    return build


@pytest.fixture
def services(app):
    for code, name in (("SBX-SD", "Street Defect"), ("SBX-GR", "Graffiti Removal")):
        db.session.add(CityService(code=code, name=name, group="Streets"))
    db.session.commit()


def offset(lat, lon, north_m=0.0, east_m=0.0):
    """A point ``north_m`` metres north and ``east_m`` east of (lat, lon)."""
    import math

    return (
        lat + north_m / 111_195.0,
        lon + east_m / (111_195.0 * math.cos(math.radians(lat))),
    )
