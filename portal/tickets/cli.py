"""`portal city services|send|sync|worker`: the city link from the shell."""

import click
from flask.cli import AppGroup

from portal.cityapi import get_city_api
from portal.cityapi.errors import CityAPIError
from portal.duties import worker_name
from portal.tickets.city_services import refresh_services
from portal.tickets.sender import send_due
from portal.tickets.sync import pull_updates

city_cli = AppGroup("city", help="The link to the city's Open311 service.")


def _fail(error: CityAPIError):
    raise click.ClickException(f"the city: {error.reason}")


@city_cli.command("services")
def services_command():
    """Fetch the city's services and their definitions."""
    try:
        with click.progressbar(length=0, label="services") as bar:
            report = refresh_services(get_city_api(), bar.update)
    except CityAPIError as error:
        _fail(error)
    click.echo(f"{report.count} services, {report.with_questions} with questions")
    for code, reason in sorted(report.unreadable.items()):
        click.echo(f"  {code}: its questions could not be read ({reason})")


@city_cli.command("send")
@click.option("--limit", type=int, default=None, help="At most this many tickets.")
def send_command(limit):
    """Send the tickets that are due, once."""
    report = send_due(get_city_api(), worker=worker_name(), limit=limit)
    click.echo(
        f"claimed {report.claimed}: sent {report.sent}, "
        f"found at the city {report.adopted}, "
        f"awaiting token {report.pending_token}, rejected {report.rejected}, "
        f"retrying {report.retrying}, held {report.held}, "
        f"waiting for the city to confirm {report.confirming}, failed {report.failed}; "
        f"tokens resolved {report.tokens_resolved}"
    )


@city_cli.command("sync")
def sync_command():
    """Pull what changed at the city since the last sync."""
    try:
        report = pull_updates(get_city_api())
    except CityAPIError as error:
        _fail(error)
    click.echo(
        f"{report.pages} pages, {report.seen} requests: {report.created} new, "
        f"{report.updated} updated, {report.unchanged} unchanged"
    )
