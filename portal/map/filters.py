"""Turn validated query parameters into a TicketFilter, checking names exist."""

from flask_babel import gettext as _
from sqlalchemy import func, select

from portal.areas.models import Area
from portal.errors import ValidationFailed
from portal.extensions import db
from portal.map.services import TicketFilter
from portal.tickets.models import CityService

ANY_STATUS = "any"


def ticket_filter(query: dict) -> TicketFilter:
    """:raises ValidationFailed: an unknown service code or area, naming the field."""
    statuses = query.get("status") or ("open",)
    if ANY_STATUS in statuses:
        statuses = None
    codes = query.get("service_code")
    if codes:
        known = set(
            db.session.scalars(
                select(CityService.code).where(CityService.code.in_(codes))
            )
        )
        have_services = db.session.scalar(select(func.count()).select_from(CityService))
        unknown = [code for code in codes if code not in known]
        # Before the first service fetch the portal cannot tell; it then trusts codes.
        if unknown and have_services:
            raise ValidationFailed(
                _("Unknown service: %(codes)s.", codes=", ".join(unknown[:5])),
                "service_code",
            )
    area_id = None
    if query.get("area"):
        area_id = db.session.scalar(select(Area.id).where(Area.slug == query["area"]))
        if area_id is None:
            raise ValidationFailed(
                _("There is no area called %(slug)s.", slug=query["area"]), "area"
            )
    return TicketFilter(
        statuses=tuple(statuses) if statuses else None,
        service_codes=tuple(codes) if codes else None,
        since=query.get("since"),
        area_id=area_id,
    )
