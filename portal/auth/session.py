"""Flask-Login glue: cookies name LoginSession rows; API calls may use Bearer tokens;
what a signed-in person sees is never stored by a cache."""

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    redirect,
    request,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l

from portal.auth import services
from portal.errors import AuthenticationFailed, wants_json
from portal.extensions import csrf, login_manager

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


@login_manager.user_loader
def _load_from_session(key: str):
    # A request that sends a token speaks for the token's owner, whatever cookie the
    # client also holds.
    if has_request_context() and bearer_token() is not None:
        return _token_user()
    return services.load_session(key)


def _token_user():
    """The Bearer token's user, looked up once per request."""
    if "_token_user" not in g:
        token = bearer_token()
        g._token_user = services.user_for_token(token) if token else None
    return g._token_user


@login_manager.request_loader
def _load_from_bearer(_request):
    return _token_user()


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        raise AuthenticationFailed(str(_l("Sign in, or send a valid API token.")))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _guard_api_request():
    """API calls: Bearer tokens must be valid; cookie writes need the CSRF header."""
    if not request.path.startswith("/api/") or request.routing_exception is not None:
        return None  # not the API, or a 404/405 that should be answered as such
    if bearer_token() is not None:
        if _token_user() is None:
            raise AuthenticationFailed(
                str(_l("The API token is not valid or was revoked.")),
                field="Authorization",
            )
        return None
    # CSRF rides a session cookie; a write that sends none cannot be forged, and is
    # answered by the view itself (a 401 where an account is needed).
    cookie = current_app.config["SESSION_COOKIE_NAME"]
    if request.method in UNSAFE_METHODS and cookie in request.cookies:
        csrf.protect()
    return None


def no_store(response):
    """Forbid every cache, the browser's included, to keep the response: it shows a
    signed-in person's data (a new token, say) or carries their session cookie."""
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _answered_someone_signed_in() -> bool:
    # Flask-Login keeps the user it loaded in g. A response made without ever asking
    # who is there (a photo, a static file, a public map answer) is the same for
    # everyone and keeps its own caching.
    user = g.get("_login_user")
    return user is not None and user.is_authenticated


def _no_store_when_signed_in(response):
    if _answered_someone_signed_in():
        no_store(response)
    return response


class NoStoreSessionInterface(SecureCookieSessionInterface):
    """Flask's signed session cookie; a response that sets or clears it is not to be
    stored, or a cache would hand one person's cookie to the next."""

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        prefix = self.get_cookie_name(app) + "="
        if any(c.startswith(prefix) for c in response.headers.getlist("Set-Cookie")):
            no_store(response)


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    app.before_request(_guard_api_request)
    app.after_request(_no_store_when_signed_in)
    app.session_interface = NoStoreSessionInterface()
