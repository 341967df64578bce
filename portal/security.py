"""Security headers (Talisman CSP: the portal and tile server only), JSON limits, and
the refusal of text no database can store."""

from urllib.parse import urlsplit

from flask import Flask, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.middleware.proxy_fix import ProxyFix

from portal.bounds import bad_text_field, invalid_text_error, is_valid_text
from portal.errors import ValidationFailed
from portal.extensions import talisman


def refuse_invalid_text() -> None:
    """Every name and value of the query, form and JSON body is checked here, once,
    before any view: NUL (PostgreSQL cannot store it), control characters and lone
    surrogates are refused up front, naming the field. A form part without a name is
    refused too.

    :raises ValidationFailed: 422, for the first field holding one.
    """
    for source in (request.args, request.form, request.files):
        for name, value in source.items(multi=True):
            if not name:
                raise ValidationFailed(_("A part of the form has no name."), "body")
            text = value if isinstance(value, str) else (value.filename or "")
            if not is_valid_text(name):
                raise invalid_text_error("body")
            if not is_valid_text(text):
                raise invalid_text_error(name)
    if request.is_json:
        field = bad_text_field(request.get_json(silent=True))
        if field:
            raise invalid_text_error(field)


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


def trust_proxies(app: Flask) -> None:
    """Behind PROXY_HOPS proxies, the client's address and scheme are the ones they
    forward: else every resident shares the proxy's address (and its rate limits), and
    a request that came over HTTPS looks like HTTP. Never trusted without the setting,
    since anyone can send the headers."""
    hops = int(app.config["PROXY_HOPS"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def init_security(app: Flask) -> None:
    app.before_request(refuse_invalid_text)
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
