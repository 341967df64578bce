"""The map page: folium map, filters, and the same tickets as a list by distance."""

from datetime import timedelta

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _

from portal.areas import services as areas
from portal.bounds import whole
from portal.caching import rendered_page
from portal.dbtypes import utcnow
from portal.errors import NotFound
from portal.geocode import GeocoderUnavailable, get_geocoder
from portal.map import services
from portal.map.page import build_map
from portal.tickets.services import service_groups

bp = Blueprint("map", __name__)

LIST_RADIUS = 1500
LIST_SIZE = 50
SINCE_DAYS = (7, 30, 90, 365)
STATUSES = ("open", "closed", "any")


def _choice(name: str, allowed, default):
    value = request.args.get(name, default)
    return value if value in allowed else default


def _center(places):
    """Where the page centres: near=lat,lon, an area, the first place found, or the
    city."""
    near = request.args.get("near", "")
    try:
        lat, lon = (float(part) for part in near.split(","))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return lat, lon, 16
    except ValueError:
        pass
    if request.args.get("area"):
        try:
            area = areas.get_area(request.args["area"])
            return area.label_lat, area.label_lon, 15
        except NotFound:
            pass
    if places:
        return places[0].lat, places[0].lon, 17
    lat, lon = current_app.config["MAP_CENTER"]
    return lat, lon, current_app.config["MAP_ZOOM"]


def _page_state():
    """What both pages read from the query: the search, the centre, the filters."""
    query = request.args.get("q", "").strip()[:200]
    places, problem = [], None
    if query:
        try:
            places = get_geocoder().search(query)
        except GeocoderUnavailable:
            problem = _("Address search is not answering right now; try again soon.")
        if not places and problem is None:
            problem = _("No place called “%(query)s” was found.", query=query)
    lat, lon, zoom = _center(places)
    groups = service_groups()
    codes = {service.code for group in groups for service in group[1]}
    service = request.args.get("service", "")
    status = _choice("status", STATUSES, "open")
    days = request.args.get("since", "", type=whole)
    filters = services.TicketFilter(
        statuses=None if status == "any" else (status,),
        service_codes=(service,) if service in codes else None,
        since=utcnow() - timedelta(days=days) if days in SINCE_DAYS else None,
    )
    state = {
        "query": query,
        "places": places,
        "problem": problem,
        "center": (lat, lon),
        "groups": groups,
        "selected": {"service": service, "status": status, "since": days},
        "since_days": SINCE_DAYS,
        "list_radius": LIST_RADIUS,
    }
    return state, filters, zoom


@bp.get("/map")
def index():
    """The map; its tickets come from the API, so the page never grows with them."""
    state, _filters, zoom = _page_state()
    # Per viewer (the header names who is signed in): the browser alone keeps it,
    # asking each time; the same page again is a 304.
    return rendered_page(
        lambda: render_template(
            "map/index.html", map_parts=build_map(*state["center"], zoom), **state
        )
    )


@bp.get("/map/list")
def list_view():
    """The same tickets as a list, nearest first, with no map and no script."""
    state, filters, _zoom = _page_state()
    listed = services.nearby(*state["center"], LIST_RADIUS, filters, LIST_SIZE)
    return rendered_page(
        lambda: render_template(
            "map/list.html", listed=listed, utc_time=services.utc_time, **state
        )
    )
