"""Account rules: registration, sign-in, sessions, passwords, roles, API tokens."""

import hashlib
import secrets
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from portal.areas.models import Area
from portal.auth.models import (
    AREA_OPTIONAL_ROLES,
    AREA_REQUIRED_ROLES,
    ROLES,
    ApiToken,
    LoginSession,
    RoleGrant,
    User,
)
from portal.dbtypes import utcnow
from portal.errors import AuthenticationFailed, NotFound, ValidationFailed
from portal.extensions import db

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # hashing cost grows with length; nobody types more
TOKEN_PREFIX = "np_"
# last_used_at is written at most this often: not two writes for every use.
SEEN_EVERY = timedelta(minutes=5)


def digest_secret(secret: str) -> str:
    # Keys and tokens are 256-bit random values, so a fast hash is enough to keep them
    # useless if the table leaks; passwords get the slow hash.
    return hashlib.sha256(secret.encode()).hexdigest()


def session_tag(key: str) -> str:
    """A short public name for a login session (its sockets' room), not the key."""
    return digest_secret("socket-room:" + key)[:24]


def _hash_password(password: str) -> str:
    return generate_password_hash(
        password, method=current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    )


def normalize_email(email: str, field: str = "email") -> str:
    """The address in the one form accounts are stored under (lower case).

    :raises ValidationFailed: not a syntactically valid address (naming ``field``)."""
    email = (email or "").strip()
    if not email:
        raise ValidationFailed(_("Enter your email address."), field=field)
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationFailed(
            _("Enter a valid email address, like name@example.org."), field=field
        ) from None
    return checked.normalized.lower()


def check_password_rules(password: str, field: str = "password") -> None:
    """:raises ValidationFailed: shorter than 10 or longer than 1,024 characters."""
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(
            _("Use at least %(n)d characters.", n=MIN_PASSWORD), field=field
        )
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(
            _("Use at most %(n)d characters.", n=MAX_PASSWORD), field=field
        )


def check_display_name(display_name: str) -> str:
    """The name without surrounding spaces.

    :raises ValidationFailed: empty, or longer than 80 characters."""
    display_name = (display_name or "").strip()
    if not display_name:
        raise ValidationFailed(_("Enter the name neighbors will see."), "display_name")
    if len(display_name) > 80:
        raise ValidationFailed(_("Use at most 80 characters."), "display_name")
    return display_name


def find_user(email: str) -> User | None:
    """The account of an already normalized address, or None."""
    return db.session.scalar(select(User).where(User.email == email))


def register_user(
    display_name: str, email: str, password: str, home_area: Area | None
) -> User:
    """Create a resident account.

    :raises ValidationFailed: a field is empty, too long or invalid, or the email is
    taken.
    """
    display_name = check_display_name(display_name)
    email = normalize_email(email)
    check_password_rules(password)
    taken = _("An account with this email already exists. Try signing in.")
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise ValidationFailed(taken, field="email")
    user = User(
        email=email,
        display_name=display_name,
        password_hash=_hash_password(password),
        home_area=home_area,
    )
    db.session.add(user)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # two registrations raced for the same email
        raise ValidationFailed(taken, field="email") from None
    return user


def authenticate(email: str, password: str) -> User:
    """The user these credentials belong to.

    An unknown email costs the same hash as a wrong password and gets the same answer,
    so the login form cannot be used to find out who has an account.

    :raises AuthenticationFailed: unknown email, wrong password or suspended account.
    """
    wrong = AuthenticationFailed(
        _("The email or password is not right."), field="password"
    )
    try:
        email = normalize_email(email)
    except ValidationFailed:
        email = ""
    user = db.session.scalar(select(User).where(User.email == email)) if email else None
    password = (password or "")[:MAX_PASSWORD]
    if user is None:
        check_password_hash(_dummy_hash(), password)
        raise wrong
    if not check_password_hash(user.password_hash, password):
        raise wrong
    if not user.is_active:
        raise AuthenticationFailed(
            _(
                "This account is suspended until %(when)s. Reason: %(reason)s",
                when=format_datetime(user.suspended_until, "medium"),
                reason=user.suspend_reason or "",
            ),
            field="email",
        )
    return user


_DUMMY: dict[str, str] = {}


def _dummy_hash() -> str:
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    if method not in _DUMMY:
        _DUMMY[method] = generate_password_hash(secrets.token_hex(16), method=method)
    return _DUMMY[method]


def start_session(user: User, user_agent: str = "") -> str:
    """Record a new login session and return its key (what the cookie carries)."""
    key = secrets.token_urlsafe(32)
    db.session.add(
        LoginSession(
            user=user, key_hash=digest_secret(key), user_agent=(user_agent or "")[:200]
        )
    )
    db.session.commit()
    user.session_key, user.token_id = key, None
    return key


def load_session(key: str) -> User | None:
    """The active user of a live session key, or None (ended, unknown, or suspended)."""
    if not key:
        return None
    row = db.session.scalar(
        select(LoginSession).where(LoginSession.key_hash == digest_secret(key))
    )
    if row is None or not row.user.is_active:
        return None
    now = utcnow()
    if now - row.last_seen_at > SEEN_EVERY:
        row.last_seen_at = now
        db.session.commit()
    row.user.session_key, row.user.token_id = key, None
    return row.user


def end_session(key: str | None) -> None:
    """Forget one session key, so its cookie is refused even if replayed."""
    if key:
        db.session.execute(
            delete(LoginSession).where(LoginSession.key_hash == digest_secret(key))
        )
        db.session.commit()


def end_all_sessions(user: User, keep_key: str | None = None) -> int:
    """End every session of the user (but the one kept); returns how many ended."""
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep_key:
        query = query.where(LoginSession.key_hash != digest_secret(keep_key))
    count = db.session.execute(query).rowcount
    db.session.commit()
    return count


def check_current_password(user: User, password: str) -> None:
    """What a signed-in person confirms before a change to how the account is reached.

    :raises ValidationFailed: not the account's password (field ``current_password``).
    """
    if not check_password_hash(user.password_hash, (password or "")[:MAX_PASSWORD]):
        raise ValidationFailed(
            _("Your current password is not right."), "current_password"
        )


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password and sign out the user's other sessions.

    :raises ValidationFailed: the current password is wrong, or the new one breaks the
    rules.
    """
    check_current_password(user, current)
    check_password_rules(new, field="new_password")
    user.password_hash = _hash_password(new)
    db.session.commit()
    end_all_sessions(user, keep_key=user.session_key)


def reset_password(user: User, password: str) -> None:
    """A forgotten password replaced: every session ended and every API token
    revoked, in one commit. Whoever held the old password could have signed in
    or minted a token with it; neither outlives the reset. (Closing the sockets
    is the caller's, after this commit.)

    :raises ValidationFailed: the password breaks the rules.
    """
    check_password_rules(password)
    user.password_hash = _hash_password(password)
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()


def get_user_by_email(email: str) -> User:
    """:raises NotFound: no account has that email."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        raise NotFound(_("No account has the email %(email)s.", email=email), "email")
    return user


def check_grant(role: str, area: Area | None) -> None:
    """:raises ValidationFailed: unknown role, or captain/liaison without an area."""
    if role not in ROLES:
        raise ValidationFailed(
            _(
                "Unknown role %(role)s; choose one of %(roles)s.",
                role=role,
                roles=", ".join(ROLES),
            ),
            field="role",
        )
    if role in AREA_REQUIRED_ROLES and area is None:
        raise ValidationFailed(
            _("A %(role)s acts for an area: name it.", role=role), "area"
        )


def grant_role(user: User, role: str, area: Area | None = None) -> RoleGrant:
    """Give a role, scoped to an area where the role is.

    :raises ValidationFailed: unknown role, or a captain/liaison role without an area.
    """
    check_grant(role, area)
    if role == "resident":
        raise ValidationFailed(_("Everyone is a resident already."), field="role")
    if role not in AREA_REQUIRED_ROLES + AREA_OPTIONAL_ROLES:
        area = None
    for grant in user.grants:
        if grant.role == role and grant.area_id == (area.id if area else None):
            return grant
    grant = RoleGrant(role=role, area=area)
    user.grants.append(grant)
    db.session.commit()
    return grant


def has_role(user, role: str, area: Area | None = None) -> bool:
    """Whether the user holds the role, in the area when one is given.

    Admins hold every role everywhere; an unscoped grant covers every area.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if role == "resident":
        return True
    for grant in user.grants:
        if grant.role == "admin":
            return True
        if grant.role != role:
            continue
        if area is None or grant.area_id is None or grant.area_id == area.id:
            return True
    return False


def areas_for_role(user: User, role: str) -> list[Area]:
    """The areas a scoped role covers (every area for an unscoped grant)."""
    scoped = [g.area for g in user.grants if g.role == role and g.area is not None]
    if any(g.role in (role, "admin") and g.area_id is None for g in user.grants):
        return list(db.session.scalars(select(Area).order_by(Area.name)))
    return sorted(scoped, key=lambda a: a.name)


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Issue a personal API token; the secret is returned once and stored only hashed.

    :raises ValidationFailed: the name is empty or longer than 80 characters.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            _("Name the token, e.g. after the script using it."), "name"
        )
    if len(name) > 80:
        raise ValidationFailed(_("Use at most 80 characters."), field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user, name=name, token_hash=digest_secret(secret), prefix=secret[:10]
    )
    db.session.add(token)
    db.session.commit()
    return token, secret


def list_tokens(user: User) -> list[ApiToken]:
    """The user's live (unrevoked) tokens, newest first."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.created_at.desc())
        )
    )


def revoke_token(user: User, token_id: int) -> None:
    """Revoke a token: requests carrying it are refused, its open sockets closed.

    :raises NotFound: the user has no live token with that id.
    """
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id or token.revoked_at is not None:
        raise NotFound(_("That token does not exist or was revoked already."), "token")
    token.revoked_at = utcnow()
    db.session.commit()
    # Imported here: portal.sockets names its rooms with this module's session_tag.
    from portal.sockets import close_token_sockets

    close_token_sockets(token.id)  # a script's open socket ends with its token


def user_for_token(secret: str) -> User | None:
    """The active owner of a live token, or None."""
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(
        select(ApiToken).where(ApiToken.token_hash == digest_secret(secret))
    )
    if token is None or token.revoked_at is not None or not token.user.is_active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > SEEN_EVERY:
        token.last_used_at = now
        db.session.commit()
    token.user.session_key, token.user.token_id = None, token.id
    return token.user
