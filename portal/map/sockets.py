"""Inbound Socket.IO for /map: a page says what it shows and is put in those rooms.

- client ``view`` ``{"bbox": [w, s, e, n]}``: join the ``area:<slug>`` rooms of the
  areas the box touches (at most MAX_AREAS), leaving the others; ack the slugs.
- client ``watch_ticket`` ``{"id": n}``: join ``ticket:<n>`` (the ticket page).
- server ``ticket_updated``: see tickets/notify.py.
"""

import math

from flask_babel import gettext as _
from flask_socketio import rooms
from sqlalchemy import select

from portal.areas.models import Area
from portal.errors import NotFound, ValidationFailed
from portal.extensions import db
from portal.sockets import PortalNamespace
from portal.tickets.models import Ticket

MAX_AREAS = 60


def _bbox(data) -> tuple[float, float, float, float]:
    box = data.get("bbox") if isinstance(data, dict) else None
    if not isinstance(box, list) or len(box) != 4:
        raise ValidationFailed(_("Give bbox as four numbers."), "bbox")
    try:
        west, south, east, north = (float(value) for value in box)
    except (TypeError, ValueError):
        raise ValidationFailed(_("Give bbox as four numbers."), "bbox") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise ValidationFailed(_("Every number must be finite."), "bbox")
    return west, south, east, north


class MapNamespace(PortalNamespace):
    def on_view(self, data):
        west, south, east, north = _bbox(data)
        slugs = set(
            db.session.scalars(
                select(Area.slug)
                .where(
                    Area.min_lon <= east,
                    Area.max_lon >= west,
                    Area.min_lat <= north,
                    Area.max_lat >= south,
                )
                .limit(MAX_AREAS)
            )
        )
        wanted = {f"area:{slug}" for slug in slugs}
        for room in rooms():
            if room.startswith("area:") and room not in wanted:
                self.leave(room)
        for room in wanted:
            self.join(room)
        return {"areas": sorted(slugs)}

    def on_watch_ticket(self, data):
        ticket_id = self.id_in(data, "id")
        exists = db.session.get(Ticket, ticket_id) is not None
        if not exists:
            raise NotFound(_("There is no ticket %(id)s.", id=ticket_id), "id")
        self.join(f"ticket:{ticket_id}")
        return {"ticket": ticket_id}
