"""`portal users create` and `portal tokens create`: accounts and API tokens."""

import secrets
import sys

import click
from flask.cli import AppGroup

from portal.areas import services as areas
from portal.auth import services
from portal.auth.models import ROLES
from portal.errors import NotFound, PortalError

users_cli = AppGroup("users", help="Manage accounts.")
tokens_cli = AppGroup("tokens", help="Manage personal API tokens.")


def fail(error: PortalError):
    where = f" ({error.field})" if error.field else ""
    raise click.ClickException(f"{error.message}{where}")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="resident", show_default=True)
@click.option(
    "--area", "area_slug", help="Area slug; required for captain and liaison."
)
@click.option(
    "--name", "display_name", help="Display name (default: the email's local part)."
)
def create_user(email, role, area_slug, display_name):
    """Create an account (or grant a role to an existing one).

    The password is read from standard input when it is piped in; otherwise one is
    generated
    and printed.
    """
    try:
        area = areas.get_area(area_slug) if area_slug else None
        services.check_grant(role, area)  # before anything is written
        try:
            user = services.get_user_by_email(email)
            created, password = False, None
        except NotFound:
            password = (
                None if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
            )
            generated = not password
            password = password or secrets.token_urlsafe(12)
            user = services.register_user(
                display_name or email.split("@")[0], email, password, area
            )
            created = True
        if role != "resident":  # everyone is a resident
            services.grant_role(user, role, area)
    except PortalError as error:
        fail(error)
    scope = f" in {area.slug}" if area and role != "resident" else ""
    click.echo(f"{'created' if created else 'updated'} {user.email}: {role}{scope}")
    if created and generated:
        click.echo(f"password: {password}")


@tokens_cli.command("create")
@click.argument("email")
@click.option(
    "--name", default="command line", show_default=True, help="What it is for."
)
def create_token(email, name):
    """Print a new personal API token for the account (on the last line)."""
    try:
        user = services.get_user_by_email(email)
        _token, secret = services.create_token(user, name)
    except PortalError as error:
        fail(error)
    click.echo(f"token for {user.email} ({name}); it is shown only once:")
    click.echo(secret)
