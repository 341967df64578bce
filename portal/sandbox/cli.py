"""`portal sandbox serve|tick`: the sandbox city on its own, and moving it along."""

import click
from flask import current_app
from flask.cli import AppGroup

from portal.sandbox import city

sandbox_cli = AppGroup("sandbox", help="The built-in sandbox city.")


@sandbox_cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5311, show_default=True, type=int)
def serve(host, port):
    """Serve the sandbox city alone: GeoReport v2 at http://HOST:PORT/open311/v2/."""
    from werkzeug.serving import run_simple

    sandbox = current_app.extensions["sandbox"].app
    click.echo(f"sandbox city on http://{host}:{port}/open311/v2/ (Ctrl+C stops it)")
    run_simple(host, port, sandbox, threaded=True)


@sandbox_cli.command("tick")
def tick_command():
    """Move the sandbox's requests along as a city would (notes, dates, closing)."""
    done = city.tick(current_app.extensions["sandbox"].store)
    click.echo(
        f"published {done.get('published', 0)}, tokens resolved {done['resolved']}, "
        f"progressed {done['progressed']}, closed {done['closed']}"
    )
