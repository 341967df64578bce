"""The factory: configuration precedence, registrations, headers, cookies, secrets."""

import pytest

from portal import create_app


def test_overrides_beat_environment_beat_defaults(monkeypatch, database_url):
    monkeypatch.setenv("PORTAL_CITY_NAME", "Springfield")
    monkeypatch.setenv("PORTAL_TILES_URL", "https://tiles.example.net/{z}/{x}/{y}.png")
    app = create_app(
        {
            "SECRET_KEY": "k",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CITY_NAME": "Shelbyville",
        }
    )
    assert app.config["CITY_NAME"] == "Shelbyville"
    assert app.config["TILES_URL"] == "https://tiles.example.net/{z}/{x}/{y}.png"
    assert app.config["CITY_TIMEZONE"] == "America/New_York"


def test_database_url_variable_is_used(monkeypatch):
    monkeypatch.setenv("PORTAL_DATABASE_URL", "sqlite:///elsewhere.db")
    app = create_app({"SECRET_KEY": "k"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite:///elsewhere.db"


def test_without_a_secret_one_is_generated_into_instance(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_SECRET_KEY", raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 64


def test_blueprints_and_commands_registered(app):
    assert {"home", "auth", "areas", "areas_api", "me_api"} <= set(app.blueprints)
    assert {"users", "tokens", "areas", "demo", "db"} <= set(app.cli.commands) | {"db"}


@pytest.mark.parametrize("path", ["/", "/auth/login", "/api/v1/areas", "/nope"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "img-src 'self' data: blob: https://tile.openstreetmap.org" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "*" not in csp.replace("'self'", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_csp_allows_the_configured_tile_server_only(make_app):
    app = make_app(TILES_URL="https://{s}.tiles.example.net/{z}/{x}/{y}.png")
    csp = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "https://*.tiles.example.net" in csp
    assert "openstreetmap" not in csp


def test_inline_scripts_need_the_nonce(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'nonce="{nonce}"' in response.get_data(as_text=True)


def test_session_cookie_is_secure_httponly_samesite(client, auth, make_user):
    user = make_user()
    response = auth.login(user.email)
    cookie = next(
        value for key, value in response.headers.items() if key == "Set-Cookie"
    )
    assert "portal_session=" in cookie
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
