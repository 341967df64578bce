"""Event pages: the list with filters and a map, organizing, an event with its
RSVP, the organizer's list (CSV, check-in), calendar files, and my events."""

import csv
import io
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.areas import services as areas
from portal.bounds import whole
from portal.dbtypes import utcnow
from portal.errors import PortalError, ValidationFailed
from portal.events import calendar, cleanups, notify, services
from portal.events.models import KINDS, Event, Rsvp
from portal.extensions import db
from portal.i18n import city_datetime, city_time, city_zone
from portal.liaisons.batches import safe_cell
from portal.pageforms import CsrfForm, flash_refusal

bp = Blueprint("events", __name__)


def _day(text: str, field: str) -> datetime | None:
    return city_time(text, field) if (text or "").strip() else None


def input_from_form(form) -> services.EventInput:
    capacity = (form.get("capacity") or "").strip()
    try:
        capacity = whole(capacity) if capacity else None
    except ValueError:
        raise ValidationFailed(
            _("Give a number of places from 1, or none."), "capacity"
        ) from None
    return services.EventInput(
        kind=form.get("kind", ""),
        title=form.get("title", ""),
        starts_at=city_datetime(
            form.get("date", ""), form.get("start", ""), "starts_at"
        ),
        ends_at=city_datetime(
            form.get("end_date") or form.get("date", ""), form.get("end", ""), "ends_at"
        ),
        place=form.get("place", ""),
        lat=form.get("lat") or None,
        lon=form.get("lon") or None,
        description=form.get("description", ""),
        capacity=capacity,
    )


@bp.get("/events/")
def index():
    errors = {}
    try:
        area = (
            areas.get_area(request.args["area"]) if request.args.get("area") else None
        )
        kind = request.args.get("kind") or None
        if kind and kind not in KINDS:
            raise ValidationFailed(_("Choose a kind from the list."), "kind")
        since = _day(request.args.get("from", ""), "from")
        until = _day(request.args.get("to", ""), "to")
    except PortalError as error:
        if error.status == 404:
            raise
        errors, area, kind, since, until = error.fields, None, None, None, None
    listed = services.list_events(area, kind, since, until)
    return render_template(
        "events/index.html",
        events=listed,
        area_list=areas.list_areas(),
        kinds=KINDS,
        args=request.args,
        errors=errors,
        tiles=current_app.config["TILES_URL"],
        attribution=current_app.config["TILES_ATTRIBUTION"],
    ), (422 if errors else 200)


@bp.route("/events/new", methods=["GET", "POST"])
@login_required
def new():
    # "?tickets=3,5" from a link, or one "tickets" per ticked box.
    ticket_ids = cleanups.parse_ids(",".join(request.values.getlist("tickets")))
    errors, status = {}, 200
    if request.method == "POST":
        try:
            links = cleanups.links_for(ticket_ids)
            event = services.create_event(
                current_user, input_from_form(request.form), links
            )
        except PortalError as error:
            db.session.rollback()
            errors, status = error.fields or {"form": error.message}, error.status
        else:
            return redirect(url_for(".show", event_id=event.id))
    return render_template(
        "events/new.html",
        kinds=KINDS,
        tickets=cleanups.tickets_for(ticket_ids),
        ticket_ids=",".join(str(i) for i in ticket_ids),
        form=CsrfForm(),
        errors=errors,
        values=request.values,
    ), status


@bp.get("/events/<int:event_id>")
def show(event_id: int):
    event = services.get_event(event_id)
    answer = services.answer_of(current_user, event)
    manager = services.may_manage(current_user, event)
    return render_template(
        "events/show.html",
        event=event,
        counts=services.counts(event),
        answer=answer,
        position=services.waitlist_position(answer)
        if answer and answer.state == "waitlisted"
        else None,
        manager=manager,
        roster=services.attendees(current_user, event.id)[1] if manager else [],
        links=cleanups.links_of(event),
        over=event.ends_at <= utcnow(),
        form=CsrfForm(),
    )


@bp.post("/events/<int:event_id>/rsvp")
@login_required
def rsvp(event_id: int):
    going = request.form.get("going") == "yes"
    try:
        answer, _promoted = services.rsvp(current_user, event_id, going)
    except PortalError as error:
        flash_refusal(error)
    else:
        notify.rsvp_changed(answer.event)
        messages = {
            "going": _("You are going. See you there!"),
            "waitlisted": _("The event is full: you are on the waitlist."),
            "not_going": _("You are not going."),
        }
        flash(messages[answer.state])
    return redirect(url_for(".show", event_id=event_id))


@bp.post("/events/<int:event_id>/cleanup/<int:ticket_id>")
@login_required
def report(event_id: int, ticket_id: int):
    def upload(name):
        given = request.files.get(name)
        return given.read() if given and given.filename else None

    try:
        cleanups.report(
            current_user,
            event_id,
            ticket_id,
            request.form.get("outcome", ""),
            request.form.get("note", ""),
            upload("before"),
            upload("after"),
        )
    except PortalError as error:
        flash_refusal(error)
    else:
        flash(_("Reported; the request's thread has a note."))
    return redirect(url_for(".show", event_id=event_id) + f"#cleanup-{ticket_id}")


@bp.post("/events/<int:event_id>/cancel")
@login_required
def cancel(event_id: int):
    try:
        event = services.cancel_event(current_user, event_id)
    except PortalError as error:  # cancelled already: say so on the event's page
        flash_refusal(error)
    else:
        notify.rsvp_changed(event)
        flash(_("The event is cancelled; everyone who answered is told."))
    return redirect(url_for(".show", event_id=event_id))


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@login_required
def edit(event_id: int):
    event = services.get_event(event_id)
    if not services.may_manage(current_user, event):
        abort(403)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            services.update_event(current_user, event_id, input_from_form(request.form))
        except PortalError as error:
            db.session.rollback()
            errors, status = error.fields or {"form": error.message}, error.status
        else:
            notify.rsvp_changed(event)
            flash(_("The event is changed; calendars will follow."))
            return redirect(url_for(".show", event_id=event_id))
    local = (
        event.starts_at.astimezone(city_zone()),
        event.ends_at.astimezone(city_zone()),
    )
    values = request.form or {
        "kind": event.kind,
        "title": event.title,
        "date": local[0].date().isoformat(),
        "start": local[0].strftime("%H:%M"),
        "end_date": local[1].date().isoformat(),
        "end": local[1].strftime("%H:%M"),
        "place": event.place,
        "lat": event.lat,
        "lon": event.lon,
        "capacity": event.capacity or "",
        "description": event.description_source,
    }
    return render_template(
        "events/new.html",
        kinds=KINDS,
        tickets=[],
        ticket_ids="",
        form=CsrfForm(),
        errors=errors,
        values=values,
        editing=event,
    ), status


@bp.post("/events/<int:event_id>/checkin/<int:rsvp_id>")
@login_required
def check_in(event_id: int, rsvp_id: int):
    present = request.form.get("present", "yes") == "yes"
    services.check_in(current_user, event_id, rsvp_id, present)
    return redirect(url_for(".show", event_id=event_id) + "#roster")


@bp.get("/events/<int:event_id>/attendees.csv")
@login_required
def roster_csv(event_id: int):
    event, rows = services.attendees(current_user, event_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "state", "waitlist_order", "answered_at", "checked_in"])
    for row in rows:
        writer.writerow(
            safe_cell(value)
            for value in (
                row.user.display_name,
                row.state,
                row.queue_number,
                row.created_at.isoformat(),
                "yes" if row.checked_in_at else "",
            )
        )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="event-{event.id}.csv"'},
    )


def _ics(events, name: str, filename: str) -> Response:
    return Response(
        calendar.calendar(events, name, request.host),
        mimetype="text/calendar",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id: int):
    event = services.get_event(event_id)
    return _ics([event], event.title, f"event-{event.id}.ics")


@bp.get("/events/areas/<slug>.ics")
def area_ics(slug: str):
    area = areas.get_area(slug)
    listed = db.session.scalars(
        select(Event).where(Event.area_id == area.id).order_by(Event.starts_at)
    )
    return _ics(list(listed), _("Events in %(area)s", area=area.name), f"{slug}.ics")


@bp.get("/events/feeds/<token>.ics")
def user_ics(token: str):
    user_id = calendar.user_for_feed(token)
    if user_id is None:
        abort(404)
    listed = db.session.scalars(
        select(Event)
        .join(Rsvp, Rsvp.event_id == Event.id)
        .where(Rsvp.user_id == user_id, Rsvp.state.in_(("going", "waitlisted")))
        .order_by(Event.starts_at)
    )
    return _ics(list(listed), _("My neighborhood events"), "my-events.ics")


@bp.get("/events/mine")
@login_required
def mine():
    return render_template(
        "events/mine.html",
        feed=url_for(
            ".user_ics", token=calendar.feed_token(current_user), _external=True
        ),
        answers=services.my_answers(current_user),
    )


@bp.get("/notices")
def notices():
    # Notices became notifications (migration 0015): old links and bookmarks follow.
    return redirect(url_for("notifications.index"), 301)
