"""`portal areas import`: load neighborhood polygons from a GeoJSON file."""

import json

import click
from flask.cli import AppGroup

from portal.areas import services
from portal.errors import PortalError

areas_cli = AppGroup("areas", help="Manage neighborhoods.")


@areas_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--name-property", required=True, help="Feature property holding the name."
)
def import_areas(path, name_property):
    """Import (or update, by name) every polygon of a GeoJSON FeatureCollection."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            collection = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise click.ClickException(f"{path} is not readable GeoJSON: {error}") from None
    total = len(collection.get("features") or []) if isinstance(collection, dict) else 0
    with click.progressbar(length=total, label="reading features") as bar:
        try:
            imported = services.import_features(collection, name_property, bar.update)
        except PortalError as error:
            raise click.ClickException(error.message) from None
    click.echo(f"imported {len(imported)} areas from {total} features")
