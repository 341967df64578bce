"""Meeting pages: create, minutes, drafts to review and file, the follow-up report
(printable and CSV)."""

import csv
import io
import secrets

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.areas import services as areas
from portal.bounds import whole
from portal.errors import PermissionDenied, PortalError, ValidationFailed
from portal.extensions import db
from portal.i18n import city_datetime
from portal.liaisons import bulk, services
from portal.liaisons.batches import safe_cell
from portal.pageforms import CsrfForm
from portal.tickets.models import CityService

bp = Blueprint("liaisons", __name__)


def _services():
    return list(
        db.session.scalars(
            db.select(CityService)
            .where(CityService.active.is_(True))
            .order_by(CityService.name)
        )
    )


@bp.route("/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting():
    choices = services.organizer_areas(current_user)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            area = areas.get_area(request.form.get("area", ""))
            starts_at = city_datetime(
                request.form.get("date", ""), request.form.get("time", ""), "starts_at"
            )
            meeting = services.create_meeting(
                current_user,
                area,
                request.form.get("title"),
                starts_at,
                request.form.get("place"),
                request.form.get("agenda", ""),
            )
        except PortalError as error:
            db.session.rollback()
            if error.status == 403:
                raise
            errors, status = error.fields or {"form": error.message}, error.status
        else:
            return redirect(url_for(".meeting", meeting_id=meeting.id))
    elif not choices:
        raise PermissionDenied(_("Only captains and liaisons organize meetings."))
    return render_template(
        "liaisons/new_meeting.html",
        choices=choices,
        chosen=request.values.get("area", ""),
        form=CsrfForm(),
        errors=errors,
        values=request.form,
    ), status


@bp.get("/meetings/<int:meeting_id>")
def meeting(meeting_id: int, errors=None, status=200):
    meeting = services.get_meeting(meeting_id)
    organizer = services.organizes(current_user, meeting.area)
    previous = services.previous_meeting(meeting)
    return render_template(
        "liaisons/meeting.html",
        meeting=meeting,
        organizer=organizer,
        drafts=[d for d in meeting.drafts if d.state == "draft"] if organizer else [],
        services=_services() if organizer else [],
        report=services.follow_up(meeting),
        previous=previous,
        previous_report=services.follow_up(previous) if previous else [],
        form=CsrfForm(),
        batch_key=secrets.token_urlsafe(16),
        errors=errors or {},
    ), status


def _back(meeting_id: int, error: PortalError):
    db.session.rollback()
    if error.status in (403, 404):
        raise error
    return meeting(meeting_id, error.fields or {"form": error.message}, error.status)


@bp.post("/meetings/<int:meeting_id>/minutes")
@login_required
def minutes(meeting_id: int):
    raw = request.form.get("attendees", "").strip()
    try:
        try:
            attendees = whole(raw) if raw else None
        except ValueError:
            raise ValidationFailed(
                _("Give the number who came, or leave it empty."), "attendees"
            ) from None
        services.publish_minutes(
            current_user, meeting_id, request.form.get("minutes", ""), attendees
        )
    except PortalError as error:
        return _back(meeting_id, error)
    flash(_("The minutes are published."))
    return redirect(url_for(".meeting", meeting_id=meeting_id))


@bp.post("/meetings/<int:meeting_id>/drafts")
@login_required
def make_drafts(meeting_id: int):
    try:
        found = services.make_drafts(current_user, meeting_id)
    except PortalError as error:
        return _back(meeting_id, error)
    flash(_("%(n)d drafts to review.", n=len(found)))
    return redirect(url_for(".meeting", meeting_id=meeting_id) + "#drafts")


@bp.post("/meetings/<int:meeting_id>/drafts/file")
@login_required
def file_drafts(meeting_id: int):
    """Save the table's corrections, drop the unticked, file the ticked at once."""
    meeting = services.get_meeting(meeting_id)
    chosen = []
    try:
        for draft in [d for d in meeting.drafts if d.state == "draft"]:
            prefix = f"draft-{draft.id}-"
            if request.form.get(prefix + "drop"):
                services.drop_draft(current_user, draft.id)
                continue
            services.update_draft(
                current_user,
                draft.id,
                request.form.get(prefix + "service_code", draft.service_code),
                request.form.get(prefix + "address", draft.address),
                request.form.get(prefix + "description", draft.description),
            )
            if request.form.get(prefix + "file"):
                chosen.append(draft)
        if not chosen:
            raise ValidationFailed(_("Tick the drafts to file."), "drafts")
        batch, _replayed = bulk.file_batch(
            current_user,
            bulk.rows_from_drafts(chosen),
            "drafts",
            meeting,
            request.form.get("batch_key", ""),
        )
    except PortalError as error:
        return _back(meeting_id, error)
    for draft, row in zip(chosen, batch.rows, strict=False):
        draft.state, draft.batch_row_id = "filed", row.id
    db.session.commit()
    return redirect(url_for("batches.show", batch_id=batch.id))


@bp.get("/meetings/<int:meeting_id>/report")
def report(meeting_id: int):
    meeting = services.get_meeting(meeting_id)
    return render_template(
        "liaisons/report.html", meeting=meeting, report=services.follow_up(meeting)
    )


@bp.get("/meetings/<int:meeting_id>/report.csv")
def report_csv(meeting_id: int):
    meeting = services.get_meeting(meeting_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        ["ticket", "city_id", "service", "address", "how", "status", "days_open"]
        + ["city_notes", "expected", "agency"]
    )
    for line in services.follow_up(meeting):
        ticket = line.ticket
        writer.writerow(
            safe_cell(value)
            for value in (
                ticket.id,
                ticket.city_id,
                ticket.service_name or ticket.service_code,
                ticket.address,
                line.how,
                ticket.status,
                line.days_open,
                ticket.status_notes,
                ticket.expected_at.date().isoformat() if ticket.expected_at else "",
                ticket.agency,
            )
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="meeting-{meeting.id}.csv"'
        },
    )
