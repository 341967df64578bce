"""A batch after filing: who may see it, each row's state (invalid, me too, or its
ticket's send state and the city's answer), fixing a row, and the CSV export."""

import csv
import io
import re

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.auth.services import has_role
from portal.errors import Conflict, NotFound, PermissionDenied
from portal.extensions import db
from portal.forums.services import signed_in
from portal.liaisons.bulk import FORMULA_STARTS, file_row
from portal.liaisons.models import Batch, BatchRow
from portal.liaisons.services import organizer_areas, organizes

NUMBER = re.compile(r"-?\d+(\.\d+)?")
EXPORT_COLUMNS = (
    "row",
    "service_code",
    "description",
    "address",
    "lat",
    "lon",
    "state",
    "ticket",
    "city_id",
    "message",
)


def may_see(user, batch: Batch) -> bool:
    if batch.created_by_id == user.id or has_role(user, "admin"):
        return True
    return batch.meeting is not None and organizes(user, batch.meeting.area)


def get_batch(user, batch_id: int) -> Batch:
    """:raises NotFound: no such batch, or not the user's to see."""
    user = signed_in(user)
    # Each row's state reads its ticket: load them with the rows, not one by one.
    batch = db.session.get(
        Batch,
        batch_id,
        options=[selectinload(Batch.rows).selectinload(BatchRow.ticket)],
    )
    if batch is None or not may_see(user, batch):
        raise NotFound(_("There is no batch %(id)s.", id=batch_id), "batch")
    return batch


def row_state(row: BatchRow) -> dict:
    """What the page, the API and the live events say of a row."""
    state = {"row": row.number, "id": row.id, "ticket": row.ticket_id}
    if row.outcome == "invalid":
        return state | {"state": "invalid", "errors": row.errors}
    if row.outcome == "me_too":
        return state | {"state": "me_too", "city_id": row.ticket.city_id}
    ticket = row.ticket
    if ticket is None:
        return state | {"state": "gone"}
    message = ticket.last_error if ticket.send_state in ("rejected", "failed") else None
    return state | {
        "state": ticket.send_state or "sent",
        "city_id": ticket.city_id,
        "message": message,
    }


def summary(batch: Batch) -> dict:
    counts: dict[str, int] = {}
    for row in batch.rows:
        name = row_state(row)["state"]
        counts[name] = counts.get(name, 0) + 1
    return counts


def fixable(row: BatchRow) -> bool:
    """Rows with errors, and tickets the city refused, can be corrected and sent."""
    if row.outcome == "invalid":
        return True
    return row.outcome == "filed" and row.ticket and row.ticket.send_state == "rejected"


def fix_row(user, row_id: int, cells: dict) -> BatchRow:
    """File a corrected row (a refused ticket stays in the history as refused).

    :raises Conflict: the row is not one to fix.
    """
    user = signed_in(user)
    row = db.session.get(BatchRow, row_id)
    if row is None or not may_see(user, row.batch):
        raise NotFound(_("There is no such row."), "row")
    if row.batch.created_by_id != user.id and not has_role(user, "admin"):
        raise PermissionDenied(_("Only who filed the batch can fix its rows."))
    if not fixable(row):
        raise Conflict(_("This row needs no fixing."), "row")
    area_ids = {area.id for area in organizer_areas(user)}
    behalf = row.ticket.on_behalf_of if row.ticket else None
    if behalf is None and row.batch.meeting is not None:
        behalf = _("the meeting “%(title)s”", title=row.batch.meeting.title)
    fresh = file_row(user, row.number, cells, area_ids, behalf)
    row.cells, row.outcome, row.errors = fresh.cells, fresh.outcome, fresh.errors
    row.ticket = fresh.ticket
    db.session.commit()
    return row


def rows_for_tickets(ticket_ids: list[int]) -> list[BatchRow]:
    if not ticket_ids:
        return []
    return list(
        db.session.scalars(
            select(BatchRow)
            .where(BatchRow.ticket_id.in_(ticket_ids))
            .options(selectinload(BatchRow.ticket))
        )
    )


def safe_cell(value) -> str:
    """A cell a spreadsheet will show, never run: formulas get a leading quote."""
    text = "" if value is None else str(value)
    if NUMBER.fullmatch(text):  # "-75.13" is a number to a spreadsheet, not a formula
        return text
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def export_csv(batch: Batch) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for row in batch.rows:
        state = row_state(row)
        cells = row.cells or {}
        message = state.get("message") or "; ".join(
            f"{k}: {v}" for k, v in (state.get("errors") or {}).items()
        )
        writer.writerow(
            safe_cell(value)
            for value in (
                row.number,
                cells.get("service_code"),
                cells.get("description"),
                cells.get("address"),
                cells.get("lat"),
                cells.get("lon"),
                state["state"],
                row.ticket_id,
                state.get("city_id"),
                message,
            )
        )
    return out.getvalue()
