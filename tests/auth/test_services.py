"""Account rules without HTTP: registration, authentication, sessions, roles, tokens."""

import pytest
from sqlalchemy import func, select

from portal.auth import services
from portal.auth.models import LoginSession, User
from portal.errors import AuthenticationFailed, NotFound, ValidationFailed
from portal.extensions import db
from tests.conftest import PASSWORD


def count_users():
    return db.session.scalar(select(func.count()).select_from(User))


def test_register_normalizes_email_and_hashes_password(make_area):
    area = make_area()
    user = services.register_user("  Ana  ", "Ana.Smith@Example.ORG ", PASSWORD, area)
    assert user.email == "ana.smith@example.org"
    assert user.display_name == "Ana"
    assert PASSWORD not in user.password_hash and user.password_hash.startswith(
        "pbkdf2"
    )
    assert user.home_area is area


@pytest.mark.parametrize(
    "name, email, password, field",
    [
        ("", "a@example.org", PASSWORD, "display_name"),
        ("x" * 81, "a@example.org", PASSWORD, "display_name"),
        ("Ana", "", PASSWORD, "email"),
        ("Ana", "not-an-email", PASSWORD, "email"),
        ("Ana", "a@example.org", "short", "password"),
        ("Ana", "a@example.org", "p" * 1025, "password"),
    ],
)
def test_register_rejects_bad_fields_and_writes_nothing(
    make_area, name, email, password, field
):
    area = make_area()
    with pytest.raises(ValidationFailed) as caught:
        services.register_user(name, email, password, area)
    assert caught.value.field == field
    assert count_users() == 0


def test_duplicate_email_is_refused_case_insensitively(make_user, make_area):
    make_user(email="dup@example.org")
    with pytest.raises(ValidationFailed) as caught:
        services.register_user("B", "DUP@example.org", PASSWORD, make_area("Other"))
    assert caught.value.field == "email"
    assert count_users() == 1


def test_authenticate_unknown_and_wrong_password_fail_identically(make_user):
    user = make_user()
    with pytest.raises(AuthenticationFailed) as unknown:
        services.authenticate("nobody@example.org", PASSWORD)
    with pytest.raises(AuthenticationFailed) as wrong:
        services.authenticate(user.email, "wrong password!")
    assert unknown.value.message == wrong.value.message
    assert unknown.value.fields == wrong.value.fields
    assert services.authenticate(user.email.upper(), PASSWORD) == user


def test_suspended_user_cannot_authenticate_nor_keep_sessions(make_user):
    from datetime import timedelta

    from portal.dbtypes import utcnow

    user = make_user()
    key = services.start_session(user)
    assert services.load_session(key) == user
    user.suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    with pytest.raises(AuthenticationFailed):
        services.authenticate(user.email, PASSWORD)
    assert services.load_session(key) is None


def test_sessions_end_one_by_one_or_all(make_user):
    user = make_user()
    first = services.start_session(user, "phone")
    second = services.start_session(user, "laptop")
    assert services.load_session(first) == services.load_session(second) == user
    services.end_session(first)
    assert services.load_session(first) is None
    assert services.load_session(second) == user
    services.start_session(user)
    assert services.end_all_sessions(user, keep_key=second) == 1
    assert services.load_session(second) == user
    stored = db.session.scalars(select(LoginSession.key_hash)).all()
    assert second not in stored  # only hashes are stored


def test_change_password_checks_current_and_ends_other_sessions(make_user):
    user = make_user()
    other = services.start_session(user)
    current = services.start_session(user)
    with pytest.raises(ValidationFailed) as caught:
        services.change_password(user, "not it at all", "a brand new password")
    assert caught.value.field == "current_password"
    with pytest.raises(ValidationFailed) as caught:
        services.change_password(user, PASSWORD, "short")
    assert caught.value.field == "new_password"
    services.change_password(user, PASSWORD, "a brand new password")
    assert services.authenticate(user.email, "a brand new password") == user
    assert services.load_session(other) is None
    assert services.load_session(current) == user


def test_roles_are_scoped_to_areas(make_user, make_area):
    old_city = make_area("Old City", (-75.15, 39.94, -75.14, 39.96))
    fishtown = make_area("Fishtown", (-75.14, 39.96, -75.12, 39.98))
    captain = make_user(role="captain", area=old_city)
    site_moderator = make_user(role="moderator")
    area_moderator = make_user(role="moderator", area=fishtown)
    admin = make_user(role="admin")
    resident = make_user()

    assert services.has_role(captain, "captain", old_city)
    assert not services.has_role(captain, "captain", fishtown)
    assert not services.has_role(captain, "liaison", old_city)
    assert services.has_role(site_moderator, "moderator", old_city)
    assert services.has_role(area_moderator, "moderator", fishtown)
    assert not services.has_role(area_moderator, "moderator", old_city)
    assert services.has_role(admin, "liaison", fishtown)
    assert services.has_role(resident, "resident")
    assert not services.has_role(resident, "captain", old_city)
    assert services.areas_for_role(captain, "captain") == [old_city]
    assert {a.slug for a in services.areas_for_role(site_moderator, "moderator")} == {
        "old-city",
        "fishtown",
    }


def test_grant_role_validates_and_is_idempotent(make_user, make_area):
    user = make_user()
    with pytest.raises(ValidationFailed) as caught:
        services.grant_role(user, "liaison")
    assert caught.value.field == "area"
    with pytest.raises(ValidationFailed):
        services.grant_role(user, "mayor")
    area = make_area()
    first = services.grant_role(user, "liaison", area)
    assert services.grant_role(user, "liaison", area) is first
    assert len(user.grants) == 1


def test_tokens_are_hashed_listed_and_revocable(make_user):
    user = make_user()
    token, secret = services.create_token(user, "my script")
    assert secret.startswith("np_") and secret not in token.token_hash
    assert services.user_for_token(secret) == user
    assert services.list_tokens(user) == [token]
    assert services.user_for_token(secret + "x") is None
    other = make_user()
    with pytest.raises(NotFound):
        services.revoke_token(other, token.id)  # not theirs
    services.revoke_token(user, token.id)
    assert services.user_for_token(secret) is None
    assert services.list_tokens(user) == []
    with pytest.raises(ValidationFailed):
        services.create_token(user, "   ")
