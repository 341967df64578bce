"""Helpers for the notifications tests: an area, and reading what someone was told.

Tests that need an item of no domain use the item type "note", which no domain
registers: always visible, linked by nothing."""

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.notifications.models import Notification


@pytest.fixture
def area(make_area):
    return make_area("Old City", (-75.20, 39.90, -75.10, 40.00))


def told(user, kind=None) -> list[Notification]:
    """What ``user`` has been told (every channel), oldest first."""
    query = select(Notification).where(Notification.recipient_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    db.session.expire_all()
    return list(db.session.scalars(query.order_by(Notification.id)))
