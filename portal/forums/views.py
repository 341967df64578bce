"""Forum pages: an area's threads, a thread with its posts, writing and editing."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.areas import services as areas
from portal.bounds import whole
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.extensions import db
from portal.forums import flags, limits, notify, services, watching
from portal.forums.models import Post
from portal.forums.visibility import Viewer
from portal.pageforms import CsrfForm, flash_refusal
from portal.tickets.services import get_ticket, is_following

bp = Blueprint("forums", __name__, url_prefix="/forums")


def post_url(post: Post) -> str:
    """The page of its thread that shows the post, at the post."""
    page = services.page_of(post)
    url = url_for("forums.thread", thread_id=post.thread_id, page=page)
    return f"{url}#post-{post.id}"


@bp.get("/<area_slug>/")
def area_forum(area_slug: str):
    area = areas.get_area(area_slug)
    page = services.list_threads(
        current_user, area, request.args.get("page", 1, type=whole)
    )
    return render_template(
        "forums/area.html", area=area, page=page, form=CsrfForm(), errors={}, values={}
    )


@bp.post("/<area_slug>/")
@login_required
@limits.posting
def new_thread(area_slug: str):
    area = areas.get_area(area_slug)
    try:
        thread = services.create_thread(
            current_user,
            area,
            request.form.get("title", ""),
            request.form.get("body", ""),
        )
    except PortalError as error:
        page = services.list_threads(current_user, area)
        return render_template(
            "forums/area.html",
            area=area,
            page=page,
            form=CsrfForm(),
            errors=error.fields or {"form": error.message},
            values=request.form,
        ), error.status
    return redirect(url_for(".thread", thread_id=thread.id))


def _move_targets(thread):
    if not services.can_moderate(current_user, thread.area):
        return []
    return [
        area
        for area in areas.list_areas()
        if area.id != thread.area_id and services.can_moderate(current_user, area)
    ]


@bp.get("/threads/<int:thread_id>")
def thread(thread_id: int, errors=None, status=200):
    thread = services.visible_thread(current_user, thread_id)
    page = services.list_posts(thread, request.args.get("page", 1, type=whole))
    errors = dict(errors or {})
    # The post to quote: the link's ?quote=, or the refused form's own field.
    quoting = request.values.get("quote", type=whole)
    if quoting is not None and current_user.is_authenticated and "quote" not in errors:
        try:
            services.quotable_post(current_user, thread, quoting)
        except ValidationFailed as error:
            errors.update(error.fields)
            status = error.status if status == 200 else status
    if "quote" in errors:
        quoting = None
    html = render_template(
        "forums/thread.html",
        thread=thread,
        page=page,
        form=CsrfForm(),
        errors=errors,
        values=request.form,
        viewer=Viewer(current_user),
        moderator=services.can_moderate(current_user, thread.area),
        move_targets=_move_targets(thread),
        following=bool(thread.ticket) and is_following(current_user, thread.ticket),
        watching=watching.is_watching(current_user, thread),
        quoting=quoting,
    )
    watching.thread_seen(current_user, thread)  # after: the commit expires the rows
    return html, status


@bp.post("/threads/<int:thread_id>")
@login_required
@limits.posting
def reply(thread_id: int):
    try:
        post = services.reply(
            current_user,
            thread_id,
            request.form.get("body", ""),
            request.form.get("quote", type=whole),
        )
    except PortalError as error:
        db.session.rollback()
        return thread(thread_id, error.fields or {"form": error.message}, error.status)
    if not post.held:
        notify.post_created(post)
    return redirect(post_url(post))


@bp.post("/threads/<int:thread_id>/watch")
@login_required
def watch(thread_id: int):
    """Watch (hear of every reply) or, with ``action=unwatch``, stop."""
    wanted = request.form.get("action") != "unwatch"
    watching.set_watching(current_user, thread_id, wanted)
    flash(
        _("You watch this thread: you will hear of its replies.")
        if wanted
        else _("You no longer watch this thread.")
    )
    return redirect(url_for(".thread", thread_id=thread_id))


@bp.get("/posts/<int:post_id>")
def post(post_id: int):
    """Where a notification leads: the post on its page of the thread."""
    found = db.session.get(Post, post_id)
    if found is None:
        raise NotFound(_("There is no post %(id)s.", id=post_id), "post")
    services.visible_thread(current_user, found.thread_id)
    return redirect(post_url(found))


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit(post_id: int):
    # Refusals of who (403, 404, or 409 on a locked thread) are error pages: the form
    # and the post's source are only for who may change it.
    post = services.post_to_edit(current_user, post_id)
    errors, status = {}, 200
    if request.method == "POST":
        try:
            services.edit_post(
                current_user,
                post_id,
                request.form.get("body", ""),
                request.form.get("title"),
            )
        except PortalError as error:
            db.session.rollback()
            if error.status in (403, 404):  # changed meanwhile: no form, no source
                raise
            errors, status = error.fields or {"form": error.message}, error.status
        else:
            notify.post_updated(post)
            notify.thread_changed(post.thread)
            flash(_("Your post is changed; its history is kept."))
            return redirect(post_url(post))
    return render_template(
        "forums/edit.html",
        post=post,
        first=services.first_post_id(post.thread) == post.id,
        form=CsrfForm(),
        errors=errors,
    ), status


@bp.post("/posts/<int:post_id>/delete")
@login_required
def delete(post_id: int):
    try:
        post = services.delete_post(current_user, post_id)
    except PortalError as error:
        flash_refusal(error)  # who-or-what refusals are error pages
        post = db.session.get(Post, post_id)
    else:
        notify.post_updated(post)
        flash(_("Your post is deleted."))
    return redirect(url_for(".thread", thread_id=post.thread_id))


@bp.post("/posts/<int:post_id>/flag")
@login_required
@limits.flagging
def flag(post_id: int):
    try:
        post, held = flags.flag_post(
            current_user,
            post_id,
            request.form.get("reason", ""),
            request.form.get("text", ""),
        )
    except PortalError as error:
        flash_refusal(error)  # who-or-what refusals are error pages
        post = db.session.get(Post, post_id)
    else:
        if held:
            notify.post_hidden(post)
        flash(_("Thank you: a moderator will look at this post."))
    return redirect(post_url(post))


@bp.get("/tickets/<int:ticket_id>")
def ticket_thread(ticket_id: int):
    """The ticket's thread, made when first needed."""
    thread = services.ticket_thread(get_ticket(ticket_id))
    return redirect(url_for(".thread", thread_id=thread.id))
