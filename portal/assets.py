"""Static files under content-hashed names (Flask-Static-Digest), kept a year by
browsers; their plain names still answer, revalidated on every use."""

from __future__ import annotations

import hashlib
import os

from flask import Flask, current_app
from flask_static_digest import FlaskStaticDigest

# A hashed name's content never changes, so a browser may keep it without asking.
YEAR = 365 * 24 * 3600


class StaticDigest(FlaskStaticDigest):
    """The library's ``cache_manifest.json`` and ``static_url_for``, less any entry
    whose hashed copy no longer matches its file: that file is linked by its plain
    name until ``portal digest compile`` runs again, never by an old copy."""

    hashed: frozenset = frozenset()

    def init_app(self, app: Flask) -> None:
        # Flask serves no .gz copy of its own, and the TLS proxy compresses: none made.
        app.config.setdefault("FLASK_STATIC_DIGEST_COMPRESSION", [])
        super().init_app(app)
        manifest = self.manifests.setdefault("static", {})
        folder = app.static_folder
        stale = sorted(
            name
            for name, hashed in manifest.items()
            if not _is_current_copy(folder, name, hashed)
        )
        for name in stale:
            del manifest[name]
        self.hashed = frozenset(manifest.values())
        self._told: set[str] = set()

    def static_url_for(self, endpoint: str, **values) -> str:
        filename = values.get("filename")
        # Said when a page links such a file, not at start-up: the CLI's commands (the
        # digest compile among them) have nothing to be told.
        known = self.manifests.get(endpoint, {})
        if (
            endpoint == "static"
            and filename not in known
            and filename not in self._told
        ):
            self._told.add(filename)
            current_app.logger.warning(
                "static/%s is linked by its plain name, not kept a year: it is new or"
                " changed since the last `portal digest compile`",
                filename,
            )
        return super().static_url_for(endpoint, **values)


def _is_current_copy(folder: str, name: str, hashed: str) -> bool:
    """Whether ``hashed`` is the digest compile's copy of ``name`` as it is now."""
    source_path = os.path.join(folder, name)
    try:
        source = os.stat(source_path)
        copy = os.stat(os.path.join(folder, hashed))
    except OSError:
        return False
    # The compile copies with the file's times: the same size and time is the same
    # file, checked with a stat. Otherwise (a copy of the tree without its times, a
    # checkout of the same text) the content decides.
    if (source.st_size, source.st_mtime_ns) == (copy.st_size, copy.st_mtime_ns):
        return True
    with open(source_path, "rb") as handle:
        digest = hashlib.md5(handle.read(), usedforsecurity=False).hexdigest()
    stem, extension = os.path.splitext(name)
    return hashed == f"{stem}-{digest}{extension}" and source.st_size == copy.st_size


def init_assets(app: Flask) -> None:
    """Give templates ``static_url_for`` and the static route its cache lifetimes: a
    year, immutable, for a hashed name; ``SEND_FILE_MAX_AGE_DEFAULT`` (by default
    none: revalidate each use) for a plain one, as old pages and the relative
    ``url(...)`` inside vendor CSS still ask for those."""
    digest = StaticDigest(app)
    app.extensions["static_digest"] = digest
    plain_max_age = app.get_send_file_max_age

    # Flask's documented hook, set on this app alone.
    def get_send_file_max_age(filename: str | None) -> int | None:
        if filename in digest.hashed:
            return YEAR
        return plain_max_age(filename)

    app.get_send_file_max_age = get_send_file_max_age
    send_static = app.view_functions["static"]

    def static(filename: str):
        response = send_static(filename=filename)
        if filename in digest.hashed:
            response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static
