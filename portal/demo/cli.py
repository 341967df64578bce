"""`portal demo load`: generated neighborhoods, demo accounts and, on request, bulk
tickets."""

import click
from flask import current_app
from flask.cli import AppGroup

from portal.demo import services
from portal.demo.tickets import load_tickets

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
@click.option(
    "--tickets",
    type=click.IntRange(0, 10_000_000),
    default=0,
    help="Also add this many generated tickets (for benchmarks).",
)
def load(tickets):
    """Load the demo areas and accounts (idempotent), and optionally N tickets."""
    services.load_demo(progress=click.echo)
    if tickets:
        with click.progressbar(length=tickets, label="demo: tickets") as bar:
            load_tickets(tickets, progress=bar.update)
        click.echo(f"demo: {tickets} tickets added")
    click.echo(services.accounts_text(current_app.config["DEMO_PASSWORD"]))
