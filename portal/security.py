"""Security headers (Talisman CSP: the portal and tile server only), JSON limits, and
text no database can store."""

from urllib.parse import urlsplit

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _

from portal.errors import ValidationFailed
from portal.extensions import talisman


def _nul_field(value, name: str) -> str | None:
    if isinstance(value, str):
        return name if "\x00" in value else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _nul_field(item, f"{name}.{key}" if name else str(key))
        if found:
            return found
    return None


def refuse_nul_characters() -> None:
    """A NUL character is valid UTF-8 but PostgreSQL cannot store it: every form,
    query and JSON body with one is refused up front, naming the field.

    :raises ValidationFailed: 422, for the first field holding one.
    """
    for source in (request.args, request.form):
        for name, value in source.items(multi=True):
            if "\x00" in value or "\x00" in name:
                raise ValidationFailed(
                    _("Contains characters that are not valid text."), name
                )
    if request.is_json:
        body = request.get_json(silent=True)
        field = _nul_field(body, "")
        if field:
            raise ValidationFailed(
                _("Contains characters that are not valid text."), field
            )


class SafeJSONProvider(DefaultJSONProvider):
    """Turns a body nested too deep for the parser into an ordinary bad-JSON error."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def tile_origin(tiles_url: str) -> str:
    """The CSP source for a tile URL template, e.g. https://*.tile.example.org for {s}
    subdomains.
    """
    parts = urlsplit(tiles_url.replace("{s}", "subdomain"))
    host = (parts.hostname or "").replace("subdomain", "*")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def content_security_policy(app: Flask) -> dict:
    tiles = tile_origin(app.config["TILES_URL"])
    return {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": ["'self'", "data:", "blob:", tiles],
        "connect-src": "'self'",  # CSP3: 'self' covers same-host ws:// and wss://
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }


def init_security(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.json_provider_class = SafeJSONProvider
    app.json = SafeJSONProvider(app)
    talisman.init_app(
        app,
        force_https=app.config["FORCE_HTTPS"],
        content_security_policy=content_security_policy(app),
        content_security_policy_nonce_in=["script-src"],
        frame_options="DENY",
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        referrer_policy="same-origin",
        permissions_policy={"geolocation": "(self)", "camera": "(self)"},
    )
