"""The console commands: users, tokens, areas import, demo load, and `portal` itself."""

import json
import os
import subprocess
import sys

import pytest

from portal.areas import services as areas
from portal.auth import services
from portal.demo.services import DEMO_ACCOUNTS
from portal.errors import NotFound


def test_users_create_with_generated_password(runner, make_area):
    make_area("Old City")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "cap@example.org",
            "--role",
            "captain",
            "--area",
            "old-city",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "created cap@example.org: captain in old-city" in result.output
    password = result.output.split("password: ")[1].strip()
    user = services.authenticate("cap@example.org", password)
    assert services.has_role(user, "captain", areas.get_area("old-city"))


def test_users_create_reads_the_password_from_stdin(runner):
    result = runner.invoke(
        args=["users", "create", "pipe@example.org"], input="a piped password\n"
    )
    assert result.exit_code == 0, result.output
    assert "password:" not in result.output
    assert services.authenticate("pipe@example.org", "a piped password")


def test_users_create_refuses_scoped_role_without_area_and_writes_nothing(runner):
    result = runner.invoke(
        args=["users", "create", "x@example.org", "--role", "liaison"],
        input="a piped password\n",
    )
    assert result.exit_code == 1
    assert "acts for an area" in result.output
    with pytest.raises(NotFound):
        services.get_user_by_email("x@example.org")


def test_users_create_unknown_area(runner):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "y@example.org",
            "--role",
            "captain",
            "--area",
            "atlantis",
        ]
    )
    assert result.exit_code == 1 and "no area called atlantis" in result.output


def test_tokens_create_prints_a_working_token_last(runner, make_user, client):
    user = make_user(email="tok@example.org")
    result = runner.invoke(args=["tokens", "create", "tok@example.org"])
    assert result.exit_code == 0
    secret = result.output.strip().splitlines()[-1]
    assert services.user_for_token(secret) == user
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json["email"] == "tok@example.org"


def test_tokens_create_unknown_user(runner):
    result = runner.invoke(args=["tokens", "create", "ghost@example.org"])
    assert result.exit_code == 1 and "No account" in result.output


def test_areas_import_from_shared_data(runner, shared_data):
    path = os.path.join(shared_data, "philadelphia_neighborhoods.geojson")
    result = runner.invoke(
        args=["areas", "import", path, "--name-property", "LISTNAME"]
    )
    assert result.exit_code == 0, result.output
    assert "imported 159 areas from 159 features" in result.output
    assert len(areas.list_areas()) == 159


def test_areas_import_reports_bad_files(runner, tmp_path):
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    result = runner.invoke(
        args=["areas", "import", str(broken), "--name-property", "N"]
    )
    assert result.exit_code == 1 and "not readable GeoJSON" in result.output
    wrong = tmp_path / "wrong.geojson"
    wrong.write_text(
        json.dumps({"type": "FeatureCollection", "features": [{"properties": {}}]})
    )
    result = runner.invoke(
        args=["areas", "import", str(wrong), "--name-property", "NAME"]
    )
    assert result.exit_code == 1 and "Feature 1 has no property NAME" in result.output


def test_demo_load_is_idempotent_and_lists_accounts(runner, app):
    for _ in range(2):
        result = runner.invoke(args=["demo", "load"])
        assert result.exit_code == 0, result.output
    assert len(areas.list_areas()) >= 25
    for email, _name, role, area in DEMO_ACCOUNTS:
        assert email in result.output
        user = services.authenticate(email, app.config["DEMO_PASSWORD"])
        scope = areas.get_area(area) if area else None
        assert services.has_role(user, role, scope)
    # The demo's meetings, made once: a past one with minutes, and the next.
    from portal.liaisons import services as meetings

    upcoming, past = meetings.area_meetings(areas.get_area("kensington"))
    assert len(upcoming) == 1 and len(past) == 1
    assert past[0].minutes_html and past[0].attendees == 22


def test_console_script_upgrades_and_lists_commands(tmp_path):
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
    }
    portal = os.path.join(os.path.dirname(sys.executable), "portal")
    upgraded = subprocess.run(
        [portal, "db", "upgrade"], env=env, capture_output=True, text=True
    )
    assert upgraded.returncode == 0, upgraded.stderr
    helped = subprocess.run([portal, "--help"], env=env, capture_output=True, text=True)
    for command in ("run", "serve", "users", "tokens", "areas", "demo", "db"):
        assert f"  {command} " in helped.stdout
    assert (tmp_path / "secret_key").exists()


def test_serve_refuses_an_unmigrated_database_and_one_process_set_alone(tmp_path):
    env = {
        **os.environ,
        "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path}/serve.db",
        "PORTAL_INSTANCE_PATH": str(tmp_path),
    }
    portal = os.path.join(os.path.dirname(sys.executable), "portal")

    def serve(*args):
        return subprocess.run(
            [portal, "serve", "--port", "9", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused = serve()
    assert refused.returncode == 1
    assert "run `portal db upgrade` first" in refused.stderr
    upgraded = subprocess.run(
        [portal, "db", "upgrade"], env=env, capture_output=True, text=True
    )
    assert upgraded.returncode == 0, upgraded.stderr
    alone = serve("--workers", "2")
    assert alone.returncode == 1
    assert "several web processes need PORTAL_REDIS_URL" in alone.stderr
