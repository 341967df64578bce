"""Area pages: one page per neighborhood, and the list of them all."""

from flask import Blueprint, render_template
from flask_login import current_user

from portal.areas import services
from portal.caching import rendered_page
from portal.events.cleanups import cleanable_tickets, past_cleanups
from portal.events.services import list_events
from portal.liaisons import services as meetings

bp = Blueprint("areas", __name__, url_prefix="/areas")


@bp.get("/")
def index():
    return rendered_page(
        lambda: render_template("areas/index.html", areas=services.list_areas())
    )


@bp.get("/<slug>")
def show(slug: str):
    area = services.get_area(slug)
    upcoming, past = meetings.area_meetings(area)
    # Per viewer (the header, organizer links): kept by the browser alone, and a 304
    # when the page would be the same.
    return rendered_page(
        lambda: render_template(
            "areas/show.html",
            area=area,
            events=list_events(area, limit=10),
            cleanups=past_cleanups(area),
            cleanable=cleanable_tickets(area),
            upcoming=upcoming,
            past=past[:10],
            organizer=meetings.organizes(current_user, area),
        )
    )
