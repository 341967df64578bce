"""Conditional GETs (ETag, 304) and Cache-Control: public reads, and pages that differ
per viewer, which only the viewer's own browser may keep."""

import hashlib
import hmac
import re
import secrets
from base64 import urlsafe_b64encode
from functools import lru_cache
from pathlib import Path

from flask import current_app, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from werkzeug.http import generate_etag, is_resource_modified

from portal.memo import Answer, Memo

ROOT = Path(__file__).resolve().parent.parent
# Stands for the CSP nonce while a page renders; replaced once its ETag is known.
NONCE_PLACEHOLDER = "NONCE0PLACEHOLDER0NONCE0"
# A CSRF token carries the time it was made: a page that is otherwise the same keeps
# its ETag (the token of the copy the browser holds stays valid for the session).
CSRF_VALUE = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]*')


@lru_cache(maxsize=1)
def deployed() -> str:
    """The code and templates in use: a validator from before an upgrade must not
    match after it. The same in every process of one deployment."""
    digest = hashlib.sha256()
    for folder, pattern in (("portal", "*.py"), ("templates", "*"), ("static", "*")):
        for path in sorted(p for p in (ROOT / folder).rglob(pattern) if p.is_file()):
            stat = path.stat()
            digest.update(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _digest(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


# What else pages show of a signed-in viewer (the bell's unread count): registered
# by the packages that show it, so this module imports none of them.
_VIEWER_FACETS: list = []


def register_viewer_facet(facet) -> None:
    """``facet(user)`` gives a cheap value that pages show of the viewer: a change
    in it changes the validator of every page made for them."""
    _VIEWER_FACETS.append(facet)


def viewer() -> tuple:
    """Whom a page is rendered for: two users, or a user and anyone signed out,
    never share a validator. A signed-in viewer's is tied to the session's CSRF
    secret, which the forms of the page kept in the browser were made with (the
    pages here show no form to anyone signed out)."""
    if not current_user.is_authenticated:
        return ("anonymous", str(get_locale()))
    user = current_user
    generate_csrf()  # made now if the session has none yet, as the page would
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    csrf = hashlib.sha256(session[field].encode()).hexdigest()
    roles = tuple(sorted(user.roles))
    facets = tuple(facet(user) for facet in _VIEWER_FACETS)
    who = (user.id, user.display_name, roles, str(get_locale()), csrf[:16])
    return ("user", *who, facets)


def _nonce(etag: str) -> str:
    # The same page version for the same viewer has the same nonce, so the CSP
    # header of a 304 fits the page the browser holds; no one without the secret
    # can tell it from the ETag.
    secret = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(secret, f"csp-nonce:{etag}".encode(), hashlib.sha256)
    return urlsafe_b64encode(mac.digest()[:18]).decode()


def _private(response):
    response.cache_control.private = True
    response.cache_control.no_cache = True
    response.vary.add("Cookie")
    response.vary.add("Authorization")
    return response


def public_conditional(response, etag: str | None = None):
    """A public read, the same for everyone: any cache may keep it but must ask
    again before each use; the ETag is the body's digest (``etag``: computed when
    the body was first made, for a body kept in a memo)."""
    response.cache_control.public = True
    response.cache_control.no_cache = True
    if etag is None:
        response.add_etag()
    else:
        response.set_etag(etag)
    return response.make_conditional(request)


def memoized_public(memo: Memo | None, key, make_body, mimetype: str):
    """A public read answered from ``memo`` under ``key`` when it holds it, else
    made by ``make_body()`` (bytes) and kept. ``key`` must name everything the body
    depends on, a change stamp read before the data included; None keeps nothing."""
    kept = memo.get(key) if memo is not None and key is not None else None
    if kept is None:
        body = make_body()
        kept = Answer(body, generate_etag(body), mimetype)
        if memo is not None and key is not None:
            memo.put(key, kept)
    return public_conditional(_bare(kept.body, kept.mimetype), kept.etag)


def _bare(body: bytes, mimetype: str):
    response = current_app.response_class(body)
    response.mimetype = mimetype
    return response


def private_page(render, *version, memo: Memo | None = None):
    """A page for one viewer, rendered only when its validator changed.

    :param render: makes the page (what a view returns).
    :param version: everything the page shows besides the viewer and the URL, as
        cheap values (rows, counts, ids): a change in any of them changes the ETag.
    :param memo: where pages for viewers signed out are kept by their ETag: they
        are the same for everyone of one locale, so another's request for the same
        version is answered without rendering (nonce included: it comes from the
        ETag, and so matches the CSP header of every answer under that ETag).
    """
    if session.get("_flashes"):
        # A message shown once: this answer is never the copy to reuse.
        return _private(make_response(render()))
    seen_by = viewer()
    etag = _digest(deployed(), request.full_path, seen_by, version)
    request.csp_nonce = _nonce(etag)
    if not is_resource_modified(request.environ, etag=etag):
        response = current_app.response_class()
    elif memo is not None and seen_by[0] == "anonymous":
        response = _page_from(memo, ("page", etag), render)
    else:
        response = make_response(render())
    response.set_etag(etag)
    return _private(response).make_conditional(request)


def _page_from(memo: Memo, key, render):
    kept = memo.get(key)
    if kept is not None:
        return _bare(kept.body, kept.mimetype)
    response = make_response(render())
    if response.status_code == 200 and not response.is_streamed:
        memo.put(key, Answer(response.get_data(), key[1], response.mimetype))
    return response


def rendered_page(render):
    """A page for one viewer whose data costs as much to read as to render: the
    ETag is the digest of the page itself (CSRF tokens and the nonce left out)."""
    request.csp_nonce = NONCE_PLACEHOLDER
    try:
        response = make_response(render())
    except BaseException:
        # An error page is rendered next: never under the well-known placeholder.
        request.csp_nonce = secrets.token_urlsafe(18)
        raise
    body = response.get_data(as_text=True)
    if response.status_code != 200:
        request.csp_nonce = secrets.token_urlsafe(18)
        response.set_data(body.replace(NONCE_PLACEHOLDER, request.csp_nonce))
        return _private(response)
    etag = _digest(deployed(), viewer(), CSRF_VALUE.sub(r"\1", body))
    request.csp_nonce = _nonce(etag)
    response.set_data(body.replace(NONCE_PLACEHOLDER, request.csp_nonce))
    response.set_etag(etag)
    return _private(response).make_conditional(request)
