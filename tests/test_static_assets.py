"""Static files: templates link content-hashed names kept a year; plain names (old
pages, relative references inside CSS and JS) still answer, revalidated."""

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urljoin

import pytest
from flask import Flask, render_template_string
from flask_static_digest.cli import digest

from portal import ROOT
from portal.assets import init_assets
from tests.processes import PORTAL

TEMPLATES = ROOT / "templates"
YEAR = {"public", "max-age=31536000", "immutable"}
HASHED = re.compile(r"-[0-9a-f]{32}(\.[^/]*)?$")
LINKED = re.compile(r"""static_url_for\('static', filename='([^']+)'\)""")
# Relative references inside a linked file: CSS url(...) and JS source maps.
RELATIVE = re.compile(
    r"""url\(\s*['"]?([^'")#:]+)['"]?\s*\)|sourceMappingURL=([^\s*]+)"""
)


def directives(response) -> set[str]:
    return {d.strip() for d in response.headers.get("Cache-Control", "").split(",")}


def fetch(client, url, **kwargs):
    """The answer's status, Cache-Control directives, headers and body, file closed."""
    with client.get(url, **kwargs) as response:
        return (
            response.status_code,
            directives(response),
            response.headers,
            response.data,
        )


def compile_static(folder: Path) -> None:
    """What scripts/vendor-assets.sh runs (`portal digest compile`), on ``folder``."""
    app = Flask(__name__, static_folder=str(folder))
    init_assets(app)
    result = app.test_cli_runner().invoke(digest, ["compile"])
    assert result.exit_code == 0, result.output


def digested_name(folder: Path, name: str) -> str:
    stem, extension = os.path.splitext(name)
    content = (folder / name).read_bytes()
    return (
        f"{stem}-{hashlib.md5(content, usedforsecurity=False).hexdigest()}{extension}"
    )


def template_files() -> list[Path]:
    return sorted(TEMPLATES.rglob("*.html"))


def linked_names() -> set[str]:
    return {
        name for path in template_files() for name in LINKED.findall(path.read_text())
    }


@pytest.fixture(scope="module")
def compiled_static(tmp_path_factory):
    """The repository's static folder (vendor files included), copied without any
    earlier digest output and compiled afresh: what a fresh clone's set-up makes."""
    folder = tmp_path_factory.mktemp("compiled") / "static"
    earlier = re.compile(r"(-[0-9a-f]{32}(\.[^/]*)?|^cache_manifest\.json)$")
    shutil.copytree(
        ROOT / "static",
        folder,
        ignore=lambda _dir, names: [n for n in names if earlier.search(n)],
    )
    compile_static(folder)
    return folder


@pytest.fixture
def serve_compiled(app, compiled_static):
    app.static_folder = str(compiled_static)
    app.extensions["static_digest"].init_app(app)  # reads that folder's manifest


def test_no_template_links_a_plain_static_url():
    plain = re.compile(r"""(?<!static_)url_for\(\s*['"]\.?static['"]""")
    offenders = [str(p) for p in template_files() if plain.search(p.read_text())]
    assert offenders == []
    # Every link names its file literally, so the tests below see all of them.
    for path in template_files():
        text = path.read_text()
        assert text.count("static_url_for(") == len(LINKED.findall(text)), path


@pytest.mark.usefixtures("serve_compiled")
def test_every_template_link_is_a_hashed_name_kept_a_year(app, compiled_static):
    client = app.test_client()
    names = linked_names()
    assert {"css/portal.css", "vendor/leaflet/leaflet.js", "js/map.js"} <= names
    for name in sorted(names):
        with app.test_request_context():
            url = render_template_string(
                "{{ static_url_for('static', filename=name) }}", name=name
            )
        assert url == "/static/" + digested_name(compiled_static, name)
        status, cache, _headers, body = fetch(client, url)
        assert (status, cache) == (200, YEAR), url
        assert body == (compiled_static / name).read_bytes()


@pytest.mark.usefixtures("serve_compiled")
def test_pages_link_only_hashed_names_for_everyone(client, auth, make_user):
    user = make_user()
    for signed_in in (False, True):
        if signed_in:
            auth.login(user.email)
        for page in ("/", "/map", "/events/"):
            html = client.get(page).get_data(as_text=True)
            urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
            assert urls, page
            for url in urls:
                assert HASHED.search(url), url
                # A signed-in visitor's page is never stored; its static files are.
                assert fetch(client, url)[:2] == (200, YEAR), url


@pytest.mark.usefixtures("serve_compiled")
def test_relative_references_inside_linked_files_still_load(client, compiled_static):
    seen = set()
    for name in sorted(linked_names()):
        text = (compiled_static / name).read_text(encoding="utf-8", errors="replace")
        base = "/static/" + digested_name(compiled_static, name)
        for match in RELATIVE.finditer(text):
            target = urljoin(base, (match[1] or match[2]).strip())
            status, cache, _headers, _body = fetch(client, target)
            assert status == 200, f"{target} (from {name})"
            assert "immutable" not in cache
            seen.add(target)
    # Leaflet's images named in its CSS, and the vendor source maps.
    assert "/static/vendor/leaflet/images/marker-icon.png" in seen
    assert "/static/vendor/leaflet/images/layers-2x.png" in seen
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js.map" in seen


@pytest.mark.usefixtures("serve_compiled")
def test_a_plain_name_still_answers_and_is_revalidated(client):
    status, cache, headers, body = fetch(client, "/static/vendor/leaflet/leaflet.css")
    assert status == 200 and b".leaflet-container" in body
    assert cache == {"no-cache"} and headers["ETag"]
    again = fetch(
        client,
        "/static/vendor/leaflet/leaflet.css",
        headers={"If-None-Match": headers["ETag"]},
    )
    assert again[0] == 304


def test_a_plain_name_keeps_the_configured_lifetime(make_app, compiled_static):
    app = make_app(SEND_FILE_MAX_AGE_DEFAULT=300)
    app.static_folder = str(compiled_static)
    app.extensions["static_digest"].init_app(app)
    client = app.test_client()
    plain = fetch(client, "/static/css/portal.css")
    assert plain[:2] == (200, {"public", "max-age=300"})
    hashed = fetch(
        client, "/static/" + digested_name(compiled_static, "css/portal.css")
    )
    assert hashed[:2] == (200, YEAR)


def test_a_changed_file_gets_a_new_name_and_never_the_old_copy(tmp_path):
    folder = tmp_path / "static"
    (folder / "js").mkdir(parents=True)
    script = folder / "js" / "app.js"
    script.write_text("console.log('first');\n")
    compile_static(folder)
    link = "{{ static_url_for('static', filename='js/app.js') }}"

    def linked() -> str:
        app = Flask(__name__, static_folder=str(folder))
        init_assets(app)
        with app.test_request_context():
            return render_template_string(link)

    first = linked()
    assert first == "/static/" + digested_name(folder, "js/app.js")
    script.write_text("console.log('second, longer');\n")
    # Changed but not compiled yet: its plain name, not the copy of the old text.
    assert linked() == "/static/js/app.js"
    compile_static(folder)
    second = linked()
    assert second != first
    assert second == "/static/" + digested_name(folder, "js/app.js")
    assert (folder / second.removeprefix("/static/")).read_text() == script.read_text()


def test_no_compressed_copies_are_made(compiled_static):
    # Flask would not serve them: the TLS proxy compresses.
    made = [p for p in compiled_static.rglob("*") if p.suffix in (".gz", ".br")]
    assert made == []


def test_the_console_script_has_the_digest_compile(tmp_path):
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
    }
    helped = subprocess.run(
        [PORTAL, "digest", "--help"], env=env, capture_output=True, text=True
    )
    assert helped.returncode == 0, helped.stderr
    assert "compile" in helped.stdout
