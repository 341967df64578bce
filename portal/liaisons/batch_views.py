"""Batch pages: file many tickets (a multi-row form or a CSV), the CSV template,
a batch's live rows, fixing a row, the export."""

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

from portal.bounds import whole
from portal.errors import PermissionDenied, PortalError, ValidationFailed
from portal.extensions import db, limiter
from portal.liaisons import batches, bulk, services
from portal.liaisons.models import BatchRow
from portal.liaisons.views import _services
from portal.pageforms import CsrfForm, flash_refusal

bp = Blueprint("batches", __name__, url_prefix="/batches")
FORM_ROWS = 10
FORM_FIELDS = ("service_code", "address", "description", "different")
TEMPLATE = (
    "service_code,description,address,lat,lon,different,attribute[PATTERN]\r\n"
    "SBX-SLO,Light out for a week,500 Market St,,,,out\r\n"
)


def _form_rows(form) -> list[dict]:
    rows = []
    for number in range(1, FORM_ROWS + 1):
        cells = {
            name: form.get(f"row-{number}-{name}", "").strip() for name in FORM_FIELDS
        }
        if cells["service_code"] or cells["address"] or cells["description"]:
            rows.append({k: v for k, v in cells.items() if v})
    return rows


def _new_page(errors=None, status=200):
    meetings = []
    for area in services.organizer_areas(current_user):
        upcoming, past = services.area_meetings(area)
        meetings += past[:5]
    return render_template(
        "liaisons/new_batch.html",
        services=_services(),
        meetings=meetings,
        rows=range(1, FORM_ROWS + 1),
        form=CsrfForm(),
        batch_key=secrets.token_urlsafe(16),
        errors=errors or {},
        values=request.form,
        max_rows=bulk.MAX_ROWS,
    ), status


@bp.get("/new")
@login_required
def new():
    if not services.organizer_areas(current_user):
        raise PermissionDenied(_("Only captains and liaisons file in bulk."))
    return _new_page()


@bp.post("/new")
@login_required
@limiter.limit("30 per hour", key_func=lambda: f"batch:{current_user.id}")
def create():
    upload = request.files.get("file")
    try:
        meeting = None
        if request.form.get("meeting"):
            meeting = services.get_meeting(request.form.get("meeting", type=whole) or 0)
        if upload and upload.filename:
            rows, source = bulk.parse_csv(upload.read(bulk.MAX_CSV_BYTES + 1)), "csv"
        else:
            rows, source = _form_rows(request.form), "form"
            if not rows:
                raise ValidationFailed(
                    _("Fill in a row, or choose a CSV file."), "rows"
                )
        batch, replayed = bulk.file_batch(
            current_user, rows, source, meeting, request.form.get("batch_key", "")
        )
    except PortalError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        return _new_page(error.fields or {"form": error.message}, error.status)
    if replayed:
        flash(_("This batch was filed already; here it is."))
    return redirect(url_for(".show", batch_id=batch.id))


@bp.get("/template.csv")
def template():
    return Response(
        TEMPLATE,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="batch-template.csv"'},
    )


@bp.get("/<int:batch_id>")
@login_required
def show(batch_id: int):
    batch = batches.get_batch(current_user, batch_id)
    services_list = _services()
    return render_template(
        "liaisons/batch.html",
        batch=batch,
        states={row.id: batches.row_state(row) for row in batch.rows},
        fixable={row.id for row in batch.rows if batches.fixable(row)},
        summary=batches.summary(batch),
        services=services_list,
        questions={
            service.code: [
                q for q in service.attributes or [] if q.get("variable", True)
            ]
            for service in services_list
        },
        form=CsrfForm(),
    )


@bp.get("/<int:batch_id>.csv")
@login_required
def export(batch_id: int):
    batch = batches.get_batch(current_user, batch_id)
    return Response(
        batches.export_csv(batch),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="batch-{batch.id}.csv"'},
    )


@bp.post("/rows/<int:row_id>")
@login_required
def fix(row_id: int):
    cells = {
        name: ";".join(v.strip() for v in request.form.getlist(name) if v.strip())
        for name in request.form
        if name in bulk.COLUMNS or name.startswith(bulk.ATTRIBUTE_PREFIX)
    }
    cells = {name: value for name, value in cells.items() if value}
    try:
        row = batches.fix_row(current_user, row_id, cells)
    except PortalError as error:
        flash_refusal(error)
        row = db.session.get(BatchRow, row_id)
    else:
        state = batches.row_state(row)["state"]
        flash(_("Row %(n)d: %(state)s.", n=row.number, state=state))
    return redirect(url_for(".show", batch_id=row.batch_id) + f"#row-{row.number}")
