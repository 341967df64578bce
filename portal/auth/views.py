"""Account pages: register, sign in and out, forgotten and changed passwords, change
of email address, API tokens."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from portal.areas import services as areas
from portal.auth import email_change, limits, links, services
from portal.auth.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ChoosePasswordForm,
    ConfirmForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    SignupForm,
    TokenForm,
)
from portal.errors import PortalError
from portal.extensions import limiter
from portal.sockets import close_login_sockets

bp = Blueprint("auth", __name__, url_prefix="/auth")
bp.record_once(limits.set_defaults)


def safe_next_url(target: str | None) -> str | None:
    """A same-site path to go to after signing in, or None for anything that could leave
    the site.
    """
    if not target or len(target) > 2000:
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None  # CR/LF injection, and browsers read "\" as "/" ("/\host")
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _failed_login(response) -> bool:
    return response.status_code != 302


def _account_key() -> str:
    return "login:" + request.form.get("email", "").strip().lower()[:254]


def _start(user) -> None:
    # A fresh session on every sign-in: nothing set before it (a planted cookie)
    # survives.
    session.clear()
    services.start_session(user, request.user_agent.string)
    login_user(user)


def _area_choices():
    choices = [("", _("Choose…"))]
    return choices + [(a.slug, a.name) for a in areas.list_areas()]


def _field_error(form, error: PortalError):
    if not error.fields:
        flash(error.message, "error")
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")


def _mail_limit_message():
    return _("Too many requests from here. Please try again later.")


def _welcome(user):
    _start(user)
    flash(_("Welcome, %(name)s! Your account is ready.", name=user.display_name))
    return redirect(url_for("areas.show", slug=user.home_area.slug))


def _check_email_page(email: str, purpose: str):
    return render_template("auth/check_email.html", email=email, purpose=purpose)


@bp.route("/register", methods=["GET", "POST"])
@limits.per_address(
    lambda: _("Too many new accounts from here. Please try again later.")
)
@limits.per_recipient("email")
def register():
    # With mail, a new address and a taken one both answer "check your inbox" (200,
    # the same page) after one email each; the account is made behind the link.
    by_mail = links.confirms_by_mail()
    form = SignupForm() if by_mail else RegisterForm()
    form.home_area.choices = _area_choices()
    if form.validate_on_submit():
        try:
            area = areas.get_area(form.home_area.data)
            if by_mail:
                email = links.start_signup(
                    form.display_name.data, form.email.data, area
                )
                return _check_email_page(email, "signup")
            user = services.register_user(
                form.display_name.data, form.email.data, form.password.data, area
            )
        except PortalError as error:
            _field_error(form, error)
        else:
            return _welcome(user)
    status = 400 if request.method == "POST" else 200
    return render_template("auth/register.html", form=form), status


@bp.route("/register/<token>", methods=["GET", "POST"])
def finish_registration(token: str):
    signup = links.signup_for(token)
    if services.find_user(signup.email) is not None:
        # Only the address's owner holds this link: saying so reveals nothing.
        flash(_("This address has an account already: sign in."))
        return redirect(url_for("auth.login"))
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            user = links.finish_signup(token, form.password.data)
        except PortalError as error:
            _field_error(form, error)
        else:
            return _welcome(user)
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "auth/choose_password.html",
        form=form,
        heading=_("Choose your password"),
        intro=_("Last step for %(email)s.", email=signup.email),
        button=_("Create account"),
    )
    return page, status


def _with_mail():
    if not links.confirms_by_mail():
        abort(404)  # without mail nothing can prove who owns the address


@bp.route("/reset", methods=["GET", "POST"])
@limits.per_address(_mail_limit_message)
@limits.per_recipient("email")
def forgot_password():
    _with_mail()
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            email = links.start_reset(form.email.data)
        except PortalError as error:
            _field_error(form, error)
        else:
            return _check_email_page(email, "reset")
    status = 400 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    _with_mail()
    user = links.user_to_reset(token)
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            user = links.finish_reset(token, form.password.data)
        except PortalError as error:
            _field_error(form, error)
        else:
            if user.is_active:  # a suspended one: the sign-in page says until when
                _start(user)
            flash(
                _(
                    "Your password is changed. Every other session was signed out "
                    "and your API tokens were revoked: make new ones for scripts."
                )
            )
            return redirect(url_for("home.index" if user.is_active else "auth.login"))
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "auth/choose_password.html",
        form=form,
        heading=_("Choose a new password"),
        intro=_("For %(email)s.", email=user.email),
        button=_("Change password"),
    )
    return page, status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed_login,
    error_message=lambda: _("Too many sign-in attempts from here. Wait 10 minutes."),
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=_failed_login,
    error_message=lambda: _(
        "Too many sign-in attempts for this account. Wait 10 minutes, then try again."
    ),
)
def login():
    form = LoginForm()
    next_url = safe_next_url(request.args.get("next"))
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except PortalError as error:
            _field_error(form, error)
        else:
            _start(user)
            return redirect(next_url or url_for("home.index"))
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "auth/login.html",
        form=form,
        next_url=next_url,
        can_reset=links.confirms_by_mail(),
    )
    return page, status


@bp.post("/logout")
def logout():
    form = ConfirmForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        key = current_user.session_key
        services.end_session(key)
        close_login_sockets(key)  # the page's open sockets end with the session
        logout_user()
        session.clear()
        flash(_("You are signed out."))
    return redirect(url_for("home.index"))


@bp.get("/profile")
@login_required
def profile():
    return _render_profile()


def _render_profile(
    password_form=None, token_form=None, email_form=None, new_token=None, status=200
):
    return (
        render_template(
            "auth/profile.html",
            password_form=password_form or ChangePasswordForm(formdata=None),
            email_form=email_form or ChangeEmailForm(formdata=None),
            by_mail=links.confirms_by_mail(),
            token_form=token_form or TokenForm(formdata=None),
            confirm_form=ConfirmForm(),
            tokens=services.list_tokens(current_user),
            new_token=new_token,
        ),
        status,
    )


def _wrong_password(_response) -> bool:
    return g.get("wrong_password", False)


def _password_error(form, error: PortalError) -> None:
    g.wrong_password = "current_password" in error.fields
    _field_error(form, error)


@bp.post("/password")
# Guessing a password here is guessing it at sign-in: the same budget per account.
@limits.per_account(
    "LOGIN_LIMIT_PER_ACCOUNT",
    lambda: _("Too many attempts for this account. Wait 10 minutes, then try again."),
    deduct_when=_wrong_password,
)
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data
            )
        except PortalError as error:
            _password_error(form, error)
        else:
            flash(_("Your password is changed. Your other sessions were signed out."))
            return redirect(url_for("auth.profile"))
    return _render_profile(password_form=form, status=400)


@bp.post("/email")
@limits.per_address(_mail_limit_message)
@limits.per_account(
    "EMAIL_CHANGE_LIMIT_PER_ACCOUNT",
    lambda: _("Too many changes of address asked for. Please try again in an hour."),
)
@limits.per_recipient("email-new_email")
@login_required
def change_email():
    # With mail, a free address and a taken one both answer "check your inbox" (200,
    # the same page) after one email each; the address changes behind the link.
    form = ChangeEmailForm()
    if form.validate_on_submit():
        new, password = form.new_email.data, form.current_password.data
        try:
            if links.confirms_by_mail():
                email = email_change.start_email_change(current_user, password, new)
                return _check_email_page(email, "email")
            email = email_change.change_email(current_user, password, new)
        except PortalError as error:
            _field_error(form, error)
        else:
            flash(_("Your email address is now %(email)s.", email=email))
            return redirect(url_for("auth.profile"))
    return _render_profile(email_form=form, status=400)


@bp.route("/email/<token>", methods=["GET", "POST"])
@login_required  # the link proves the address; signing in proves the account
def confirm_email(token: str):
    change = email_change.email_change_for(token, current_user)
    form = ConfirmForm()
    if form.validate_on_submit():
        email_change.finish_email_change(token, current_user)
        flash(
            _(
                "Your email address is now %(email)s: sign in with it from now on.",
                email=change.new_email,
            )
        )
        return redirect(url_for("auth.profile"))
    status = 400 if request.method == "POST" else 200
    page = render_template(
        "auth/confirm_email.html", form=form, new_email=change.new_email
    )
    return page, status


@bp.post("/tokens")
@login_required
def create_token():
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _token, secret = services.create_token(current_user, form.name.data)
        except PortalError as error:
            _field_error(form, error)
        else:
            # Shown once: only its hash is kept.
            return _render_profile(new_token=secret, status=201)
    return _render_profile(token_form=form, status=400)


@bp.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        services.revoke_token(current_user, token_id)
        flash(_("The token is revoked; scripts using it will be refused."))
    return redirect(url_for("auth.profile"))
