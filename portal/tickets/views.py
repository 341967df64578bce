"""Ticket pages: a ticket with its history, follow and "me too"; filing a new one;
the photos."""

import re
from functools import lru_cache

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, exists, select

from portal.areas.models import Area
from portal.auth.models import User
from portal.auth.views import safe_next_url
from portal.caching import private_page
from portal.errors import PortalError
from portal.extensions import db, limiter
from portal.map.page import build_map
from portal.memo import answers
from portal.notifications.services import read_on_visit
from portal.tickets import filing as filing_rules
from portal.tickets import photos, services
from portal.tickets.filing import DuplicatesFound, LocationCheck
from portal.tickets.inputs import filer_key, filing_from_form, filing_limit, photo_url
from portal.tickets.models import Ticket, TicketFollow, TicketSupport

bp = Blueprint("tickets", __name__, url_prefix="/tickets")
PHOTO_NAME = re.compile(r"^[a-z0-9]{24}(\.thumb)?\.jpg$")


class ActionForm(FlaskForm):
    """Renders the CSRF token into a button's form (CSRFProtect checks every POST
    before the view runs, with its own message)."""


@bp.get("/<int:ticket_id>")
def show(ticket_id: int):
    # What the viewer was told of this ticket is read now (and their bell says so).
    read_on_visit(current_user, ("ticket", ticket_id))
    # Rendered only when something it shows changed for this viewer; else a 304.
    # Signed out, the page of one version is everyone's: kept, it is not rendered.
    return private_page(
        lambda: _show(ticket_id), *_shown_version(ticket_id), memo=answers()
    )


@lru_cache(maxsize=2)
def _version_query(signed_in: bool):
    """The page's version in one read: the ticket's revision (its row, history and
    photos), and what it shows of other rows, which change without it: the area's
    name and slug, the filer's name (only on a ticket filed on someone's behalf)
    and, signed in, the viewer's follow and "me too"."""
    t = Ticket.__table__.c
    areas, users = Area.__table__, User.__table__
    # created_at: a ticket made anew under a deleted one's id starts at revision 0.
    columns = [t.revision, t.created_at, areas.c.slug, areas.c.name]
    columns.append(users.c.display_name)
    if signed_in:
        for mark in (TicketFollow, TicketSupport):
            columns.append(
                exists()
                .where(mark.ticket_id == t.id, mark.user_id == bindparam("user"))
                .label(mark.__tablename__)
            )
    return (
        select(*columns)
        .select_from(Ticket.__table__)
        .outerjoin(areas, areas.c.id == t.area_id)
        .outerjoin(users, (users.c.id == t.filed_by_id) & t.on_behalf_of.is_not(None))
        .where(t.id == bindparam("ticket"))
    )


def _shown_version(ticket_id: int) -> tuple:
    """Every stored value the ticket page shows, as one row: any change to the
    ticket, its history, photos, area, filer or the viewer's marks on it changes the
    page's ETag.

    :raises NotFound: no such ticket.
    """
    signed_in = current_user.is_authenticated
    params = {"ticket": ticket_id}
    if signed_in:
        params["user"] = current_user.id
    # On the session's connection: past the ORM's execution steps, on every view.
    row = db.session.connection().execute(_version_query(signed_in), params).first()
    if row is None:
        services.get_ticket(ticket_id)  # raises NotFound with its message
    config = current_app.config
    return (tuple(row), (config["CLEANUP_SERVICE_CODES"], config["TILES_URL"]))


def _show(ticket_id: int):
    ticket = services.get_ticket(ticket_id)
    mine = current_user.is_authenticated and ticket.filed_by_id == current_user.id
    small_map = (
        build_map(ticket.lat, ticket.lon, 17) if ticket.lat is not None else None
    )
    # The ticket's thread lives in the forums package once it is installed.
    forum_url = None
    if ticket.area is not None and "forums.ticket_thread" in current_app.view_functions:
        forum_url = url_for("forums.ticket_thread", ticket_id=ticket.id)
    return render_template(
        "tickets/show.html",
        forum_url=forum_url,
        ticket=ticket,
        mine=mine,
        history=services.visible_history(current_user, ticket),
        sending_visible=services.may_see_sending(current_user, ticket),
        following=services.is_following(current_user, ticket),
        supported=services.has_supported(current_user, ticket),
        small_map=small_map,
        # Only a signed-in viewer has forms: a CSRF token made for anyone else would
        # set a session cookie, and a cookie makes the page uncacheable.
        form=ActionForm() if current_user.is_authenticated else None,
    )


@bp.post("/<int:ticket_id>/follow")
@login_required
def follow(ticket_id: int):
    follow = request.form.get("action") != "unfollow"
    services.set_following(current_user, ticket_id, follow)
    flash(_("You follow this request.") if follow else _("You no longer follow it."))
    # The ticket's forum thread has the same button: following is watching it.
    back = safe_next_url(request.form.get("next"))
    return redirect(back or url_for(".show", ticket_id=ticket_id))


@bp.post("/<int:ticket_id>/me-too")
@login_required
def me_too(ticket_id: int):
    try:
        services.me_too(current_user, ticket_id)
        flash(_("Counted: you have this problem too. You now follow the request."))
    except PortalError as error:
        flash(error.message, "error")
    return redirect(url_for(".show", ticket_id=ticket_id))


@bp.get("/photos/<name>")
def photo(name: str):
    if not PHOTO_NAME.match(name):
        abort(404)
    response = send_from_directory(photos.photo_dir(), name, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.route("/new", methods=["GET", "POST"])
@login_required
@limiter.limit(
    filing_limit,
    key_func=filer_key,
    methods=["POST"],
    error_message=lambda: _("You have filed many reports; please wait a while."),
)
def new():
    form = ActionForm()
    text = request.values.get("description", request.args.get("text", ""))[:4000]
    code = request.values.get("service_code") or request.args.get("service", "")
    context = {"errors": {}, "check": None, "duplicates": None, "values": request.form}
    service = None
    if code:
        try:
            service = filing_rules.active_service(code)
        except PortalError as error:
            context["errors"] = error.fields
    if request.method == "POST" and service is not None:
        try:
            ticket = filing_rules.file_ticket(
                current_user, filing_from_form(request.form, request.files), photo_url
            )
        except LocationCheck as check:
            context["check"] = check
        except DuplicatesFound as found:
            context["duplicates"] = found.tickets
        except PortalError as error:
            context["errors"] = error.fields or {"form": error.message}
        else:
            flash(_("Thank you! Your report is stored and on its way to the city."))
            return redirect(url_for(".show", ticket_id=ticket.id))
    status = 200
    if request.method == "POST":
        status = 409 if context["check"] or context["duplicates"] else 422
    return render_template(
        "tickets/new.html",
        form=form,
        service=service,
        text=text,
        suggestions=filing_rules.suggest_services(text) if text and not service else [],
        groups=services.service_groups(),
        **context,
    ), status
