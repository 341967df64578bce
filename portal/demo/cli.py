"""`portal demo load`: generated neighborhoods and demo accounts."""

import click
from flask import current_app
from flask.cli import AppGroup

from portal.demo import services

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def load():
    """Load the demo areas and accounts (idempotent)."""
    services.load_demo(progress=click.echo)
    click.echo(services.accounts_text(current_app.config["DEMO_PASSWORD"]))
