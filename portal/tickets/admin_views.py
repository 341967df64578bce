"""The city link's admin page: what did not reach the city, and what to do about it."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.errors import PortalError
from portal.pageforms import CsrfForm, flash_refusal
from portal.tickets.link_status import city_link_status
from portal.tickets.services import found_at_city, retry_ticket

bp = Blueprint("city_admin", __name__, url_prefix="/admin/city")


@bp.get("/")
@login_required
def index():
    status = city_link_status(current_user)
    return render_template("tickets/admin.html", status=status, form=CsrfForm())


@bp.post("/tickets/<int:ticket_id>/send-again")
@login_required
def send_again(ticket_id: int):
    try:
        ticket = retry_ticket(current_user, ticket_id)
    except PortalError as error:
        flash_refusal(error)
    else:
        flash(_("Ticket %(id)s will be sent again.", id=ticket.id), "info")
    return redirect(url_for(".index"))


@bp.post("/tickets/<int:ticket_id>/found")
@login_required
def found(ticket_id: int):
    try:
        ticket = found_at_city(current_user, ticket_id, request.form.get("city_id", ""))
    except PortalError as error:
        flash_refusal(error)
    else:
        flash(
            _("Ticket %(id)s is at the city as %(number)s.", id=ticket.id,
              number=ticket.city_id), "info")  # fmt: skip
    return redirect(url_for(".index"))
