"""Moderation pages: the review queue, actions on threads, posts and accounts, and
the audit log. The forms post here; the rules live in forums.moderation."""

from datetime import timedelta

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.areas import services as areas
from portal.auth.models import User
from portal.auth.views import safe_next_url
from portal.bounds import whole
from portal.dbtypes import utcnow
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.extensions import db
from portal.forums import moderation, notify, review
from portal.forums.models import Post
from portal.forums.views import post_url
from portal.pageforms import CsrfForm, flash_refusal

bp = Blueprint("moderation", __name__, url_prefix="/moderation")

# What the sanction form offers; the API takes any end within ten years.
DURATIONS = {
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "365d": timedelta(days=365),
}


def _back(default: str) -> str:
    """Where the form came from, if it is a path on this site."""
    return safe_next_url(request.form.get("next")) or default


def _done(outcomes) -> None:
    for outcome in outcomes:
        notify.announce(outcome)


def _act(action) -> None:
    """Run one moderator action from a form: refusals of who or what (403, 404)
    answer as such; other refusals come back as a message on the page."""
    try:
        outcome = action()
    except PortalError as error:
        flash_refusal(error)
    else:
        _done([outcome])
        flash(done_message(outcome.entry.action))


@bp.get("/")
@login_required
def queue():
    page = review.review_queue(current_user, request.args.get("page", 1, type=whole))
    return render_template("moderation/queue.html", page=page, form=CsrfForm())


@bp.post("/posts")
@login_required
def posts_bulk():
    ids = request.form.getlist("post", type=whole)
    try:
        outcomes = moderation.moderate_posts(
            current_user,
            ids,
            request.form.get("action", ""),
            request.form.get("reason"),
        )
    except PortalError as error:
        db.session.rollback()
        if error.status == 403:
            raise
        flash(error.message, "error")
        return redirect(url_for(".queue")), 303
    _done(outcomes)
    flash(_("Done for %(n)d posts.", n=len(outcomes)))
    return redirect(url_for(".queue")), 303


@bp.post("/posts/<int:post_id>")
@login_required
def post_action(post_id: int):
    _act(
        lambda: moderation.moderate_post(
            current_user,
            post_id,
            request.form.get("action", ""),
            request.form.get("reason"),
        )
    )
    post = db.session.get(Post, post_id)
    return redirect(_back(post_url(post))), 303


@bp.post("/threads/<int:thread_id>")
@login_required
def thread_action(thread_id: int):
    slug = request.form.get("area", "").strip()
    _act(
        lambda: moderation.moderate_thread(
            current_user,
            thread_id,
            request.form.get("action", ""),
            request.form.get("reason"),
            areas.get_area(slug) if slug else None,
        )
    )
    return redirect(url_for("forums.thread", thread_id=thread_id)), 303


def done_message(action: str) -> str:
    """What a moderator reads after an action, in their language."""
    messages = {
        "pin": _("The thread is pinned."),
        "unpin": _("The thread is no longer pinned."),
        "lock": _("The thread is locked."),
        "unlock": _("The thread is open for replies again."),
        "move": _("The thread is moved."),
        "unlist": _("The thread is unlisted: only moderators see it."),
        "relist": _("The thread is listed again."),
        "delete": _("Deleted; the log keeps why."),
        "restore": _("Restored."),
        "approve": _("Approved: the post shows again and its reports are closed."),
        "hide": _("The post is hidden; its author sees why."),
        "dismiss": _("The reports are dismissed."),
        "silence": _("The account is silenced."),
        "suspend": _("The account is suspended and signed out everywhere."),
    }
    return messages.get(action, _("Done."))


def _member(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("There is no user %(id)s.", id=user_id), "user")
    return user


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def user(user_id: int):
    review.moderated_area_ids(current_user)  # moderators only, before anything shows
    member, errors, status = _member(user_id), {}, 200
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            until = None
            if action in ("silence", "suspend"):
                length = DURATIONS.get(request.form.get("duration", ""))
                if length is None:
                    raise ValidationFailed(_("Choose how long."), "duration")
                until = utcnow() + length
            outcome = moderation.moderate_user(
                current_user, user_id, action, request.form.get("reason"), until
            )
        except PortalError as error:
            db.session.rollback()
            if error.status == 403:
                raise
            errors, status = error.fields or {"form": error.message}, error.status
        else:
            _done([outcome])
            flash(done_message(outcome.entry.action))
            return redirect(url_for(".user", user_id=user_id)), 303
    recent = review.member_posts(current_user, member)
    return render_template(
        "moderation/user.html",
        member=member,
        state=moderation.user_state(member),
        recent=recent,
        durations=DURATIONS,
        form=CsrfForm(),
        errors=errors,
        values=request.form,
    ), status


@bp.get("/log")
@login_required
def log():
    try:
        wanted = review.parse_log_filter(request.args, areas.get_area)
    except ValidationFailed as error:
        wanted, errors, status = review.LogFilter(), error.fields, 422
    else:
        errors, status = {}, 200
    page = review.audit_log(
        current_user, wanted, request.args.get("page", 1, type=whole)
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "moderation/log.html",
        page=page,
        args=args,
        errors=errors,
        actions=sorted(
            set(
                moderation.THREAD_ACTIONS
                + moderation.POST_ACTIONS
                + moderation.USER_ACTIONS
            )
        ),
        area_list=areas.list_areas(),
    ), status
