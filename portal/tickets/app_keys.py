"""Application keys for Open311 clients filing via /open311/v2: model, rules, CLI."""

import secrets
from datetime import datetime

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, mapped_column

from portal.auth.cli import fail
from portal.auth.services import SEEN_EVERY, digest_secret
from portal.dbtypes import UTCDateTime, utcnow
from portal.errors import NotFound, PortalError, ValidationFailed
from portal.extensions import db

KEY_PREFIX = "npa_"  # never "np_": that names a personal API token


class AppKey(db.Model):
    """A key an admin issued to an application (a mobile app, a bot); stored hashed."""

    __tablename__ = "app_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def create_key(name: str) -> tuple[AppKey, str]:
    """Issue an application key; the secret is returned once and stored only hashed.

    :raises ValidationFailed: the name is empty or longer than 80 characters.
    """
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("Name the application the key is for."), "name")
    if len(name) > 80:
        raise ValidationFailed(_("Use at most 80 characters."), "name")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = AppKey(name=name, key_hash=digest_secret(secret), prefix=secret[:12])
    db.session.add(key)
    db.session.commit()
    return key, secret


def list_keys(include_revoked: bool = False) -> list[AppKey]:
    """Application keys, oldest first; live ones only unless ``include_revoked``."""
    query = select(AppKey).order_by(AppKey.id)
    if not include_revoked:
        query = query.where(AppKey.revoked_at.is_(None))
    return list(db.session.scalars(query))


def revoke_key(key_id: int) -> AppKey:
    """Revoke a key: reports sent with it are refused from now on.

    :raises NotFound: no live key has that id.
    """
    key = db.session.get(AppKey, key_id)
    if key is None or key.revoked_at is not None:
        raise NotFound(_("That key does not exist or was revoked already."), "key")
    key.revoked_at = utcnow()
    db.session.commit()
    return key


def app_for_key(secret: str) -> AppKey | None:
    """The live key matching ``secret``, or None."""
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > 100:
        return None
    key = db.session.scalar(
        select(AppKey).where(AppKey.key_hash == digest_secret(secret))
    )
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > SEEN_EVERY:
        key.last_used_at = now
        db.session.commit()
    return key


keys_cli = AppGroup("keys", help="Application keys for Open311 clients (/open311/v2).")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


@keys_cli.command("create")
@click.argument("name")
def create_command(name):
    """Print a new application key for NAME (on the last line)."""
    try:
        key, secret = create_key(name)
    except PortalError as error:
        fail(error)
    click.echo(f"key {key.id} for {key.name}; it is shown only once:")
    click.echo(secret)


@keys_cli.command("list")
@click.option("--all", "include_revoked", is_flag=True, help="Revoked keys too.")
def list_command(include_revoked):
    """List application keys: id, name, prefix, created, last used."""
    keys = list_keys(include_revoked)
    if not keys:
        click.echo("no application keys")
    for key in keys:
        state = f"  revoked {_when(key.revoked_at)}" if key.revoked_at else ""
        click.echo(
            f"{key.id}\t{key.name}\t{key.prefix}…\tcreated {_when(key.created_at)}"
            f"\tlast used {_when(key.last_used_at)}{state}"
        )


@keys_cli.command("revoke")
@click.argument("key_id", type=click.IntRange(1, 2**31 - 1))
def revoke_command(key_id):
    """Revoke the key with this id."""
    try:
        key = revoke_key(key_id)
    except PortalError as error:
        fail(error)
    click.echo(f"revoked key {key.id} ({key.name})")
