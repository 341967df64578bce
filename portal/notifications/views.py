"""Notification pages: the list grouped by item, marking read, settings per group
and channel, and the places a person watches; the bell's count for every page;
unsubscribing from a mail's link, and the Atom feeds."""

import logging

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy.exc import SQLAlchemyError
from wtforms.validators import ValidationError

from portal.areas.services import get_area, list_areas
from portal.auth.views import safe_next_url
from portal.caching import public_conditional, register_viewer_facet
from portal.errors import PortalError, ValidationFailed
from portal.extensions import csrf, db
from portal.notifications import feeds, registry, services, unsubscribe, watches
from portal.notifications import settings as preferences
from portal.notifications.kinds import CHANNELS, GROUPS
from portal.pageforms import CsrfForm, flash_refusal

log = logging.getLogger(__name__)

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

WEEKDAYS = (0, 1, 2, 3, 4, 5, 6)


def bell_count() -> int:
    """The signed-in viewer's unread count, read once per request."""
    if "bell_count" not in g:
        try:
            g.bell_count = services.unread_count(current_user)
        except SQLAlchemyError:
            # An error page made after a failed query must still render: no count.
            log.warning("the bell's count could not be read", exc_info=True)
            g.bell_count = 0
    return g.bell_count


# A page kept by the browser (a 304) must not keep an old count in its bell.
register_viewer_facet(lambda user: bell_count())


def bell_context() -> dict:
    return {"bell_count": bell_count}


def _back() -> str:
    return safe_next_url(request.form.get("next")) or url_for(".index")


@bp.get("")
@login_required
def index():
    return render_template(
        "notifications/index.html",
        groups=services.grouped(current_user),
        text_of=services.text_of,
        link_of=services.link_of,
        form=CsrfForm(),
    )


@bp.post("/<int:notification_id>/read")
@login_required
def read(notification_id: int):
    try:
        services.mark_read(current_user, notification_id)
    except PortalError as error:
        flash_refusal(error)
    return redirect(_back())


@bp.post("/read-all")
@login_required
def read_all():
    marked = services.mark_all_read(current_user)
    if marked:
        flash(_("All your notifications are marked read."))
    return redirect(_back())


def _weekday_names() -> dict[int, str]:
    names = get_locale().days["format"]["wide"]
    return {day: names[day] for day in WEEKDAYS}


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    errors, status = {}, 200
    chosen = preferences.settings_of(current_user)
    if request.method == "POST":
        form = request.form
        groups = {
            group: {channel: f"{group}.{channel}" in form for channel in CHANNELS}
            for group in GROUPS
        }
        digest = {
            name: form[f"digest_{name}"]
            for name in ("frequency", "hour", "weekday")
            if f"digest_{name}" in form
        }
        try:
            preferences.save_settings(current_user, groups, digest)
        except ValidationFailed as error:
            db.session.rollback()
            errors, status = error.fields, error.status
            chosen = {"groups": groups, "digest": {**chosen["digest"], **digest}}
        else:
            flash(_("Your notification settings are saved."))
            return redirect(url_for(".settings"))
    return render_template(
        "notifications/settings.html",
        groups=GROUPS,
        channels=CHANNELS,
        chosen=chosen,
        weekdays=_weekday_names(),
        errors=errors,
        form=CsrfForm(),
    ), status


def _watches_page(errors=None, values=None, status=200):
    mine = watches.watches_of(current_user)
    token = feeds.feed_token(current_user)
    return render_template(
        "notifications/watches.html",
        areas=list_areas(),
        watched_areas={w.item_id for w in mine if w.kind == "area"},
        default_areas=watches.default_areas(current_user),
        circles=[w for w in mine if w.kind == "point"],
        items=[w for w in mine if w.kind in watches.ITEM_KINDS],
        link_for=registry.link_for,
        radius=(watches.RADIUS_MIN, watches.RADIUS_MAX),
        feed_url=feeds.absolute(url_for(".my_feed", token=token)),
        place_feed_url=lambda watch_id: feeds.absolute(
            url_for(".place_feed", token=token, watch_id=watch_id)
        ),
        area_feed_url=lambda slug: feeds.absolute(url_for(".area_feed", slug=slug)),
        errors=errors or {},
        values=values or {},
        form=CsrfForm(),
    ), status


@bp.get("/watches")
@login_required
def watch_list():
    return _watches_page()


@bp.post("/watches/area")
@login_required
def watch_area():
    slug = request.form.get("area", "")
    try:
        if request.form.get("action") == "unwatch":
            area = watches.unwatch_area(current_user, slug)
            flash(_("You no longer watch %(name)s.", name=area.name))
        else:
            area = watches.watch_area(current_user, slug)
            flash(_("You now watch %(name)s.", name=area.name))
    except PortalError as error:
        db.session.rollback()
        return _watches_page(error.fields, request.form, error.status)
    return redirect(url_for(".watch_list"))


@bp.post("/watches/point")
@login_required
def watch_point():
    form = request.form
    try:
        watches.watch_point(
            current_user,
            form.get("lat", ""),
            form.get("lon", ""),
            form.get("radius", ""),
            form.get("label", ""),
        )
    except PortalError as error:
        db.session.rollback()
        return _watches_page(error.fields, form, error.status)
    flash(_("You now watch this place."))
    return redirect(url_for(".watch_list"))


@bp.post("/watches/<int:watch_id>/remove")
@login_required
def remove_watch(watch_id: int):
    try:
        watches.remove_watch(current_user, watch_id)
    except PortalError as error:
        flash_refusal(error)
    else:
        flash(_("Removed."))
    return redirect(url_for(".watch_list"))


# --- unsubscribing from a mail's link (RFC 8058) ---


def _unsubscribe_page(found, token: str, done: str | None = None):
    return render_template(
        "notifications/unsubscribe.html",
        found=found,
        token=token,
        kinds=unsubscribe.describe(found),
        done=done,
        form=CsrfForm(),
    )


# Exempt from the site-wide check: a mail program's one-click POST (RFC 8058) has
# no session and no form token, only the signed link. The page's own buttons are
# checked below like any form.
@csrf.exempt
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe_link(token: str):
    found = unsubscribe.read(token)
    if request.method == "GET":
        # Mail scanners open links: a GET only asks.
        return _unsubscribe_page(found, token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    if not one_click:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except ValidationError as error:
            raise CSRFError(str(error)) from None
    everything = not one_click and request.form.get("scope") == "all"
    unsubscribe.unsubscribe(found, everything=everything)
    if one_click:
        return Response(_("You are unsubscribed."), mimetype="text/plain")
    return _unsubscribe_page(found, token, done="all" if everything else "these")


# --- Atom feeds ---


def _atom(body: bytes) -> Response:
    return Response(body, mimetype="application/atom+xml")


@bp.get("/feeds/areas/<slug>.atom")
def area_feed(slug: str):
    area = get_area(slug)
    feed = feeds.area_feed(area, request.path, url_for("areas.show", slug=area.slug))
    response = _atom(feeds.atom(feed))
    response.vary.add("Accept-Language")  # its words are in the reader's language
    return public_conditional(response)


def _private_feed(token: str, watch_id: int | None):
    user = feeds.user_for_token(token)
    feed = feeds.place_feed(user, watch_id, request.path, url_for(".watch_list"))
    response = _atom(feeds.atom(feed))
    # Only the reader who holds the address may keep it; it asks again each time.
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.headers["X-Robots-Tag"] = "noindex"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/feeds/<token>.atom")
def my_feed(token: str):
    return _private_feed(token, None)


@bp.get("/feeds/<token>/places/<int:watch_id>.atom")
def place_feed(token: str, watch_id: int):
    return _private_feed(token, watch_id)


@bp.post("/feeds/reset")
@login_required
def reset_feed():
    feeds.reset_feed_token(current_user)
    flash(_("Your feed addresses are new: the old ones no longer work."))
    return redirect(url_for(".watch_list"))
