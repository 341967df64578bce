"""The `portal` console script: Flask's CLI, with a `run` that sets everything up."""

import os

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from portal import create_app


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--no-demo", is_flag=True, help="Do not load demo data into an empty database."
)
@with_appcontext
def run_command(host, port, no_demo):
    """Upgrade the database, load the demo on first run, and serve with Socket.IO."""
    from flask_migrate import upgrade

    from portal.demo import services as demo
    from portal.extensions import socketio

    app = current_app._get_current_object()
    click.echo("upgrading the database…")
    upgrade()
    if not no_demo and demo.is_empty():
        demo.load_demo(progress=click.echo)
    if not no_demo:
        click.echo(demo.accounts_text(app.config["DEMO_PASSWORD"]))
    if app.config["CITY_WORKER_IN_RUN"]:
        _start_city_worker(app)
    click.echo(f"Neighborhood Portal on http://{host}:{port}/  (Ctrl+C stops it)")
    # Flask refuses app.run() inside its CLI unless told this is a deliberate server
    # start.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    # The Werkzeug server is what `make run` needs on one machine; production runs
    # gunicorn (see README), so the "unsafe" warning does not apply here.
    socketio.run(
        app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False
    )


def _start_city_worker(app) -> None:
    """Every worker duty (sending, syncing, reminders, the sandbox's ticks) in the
    background of `portal run`."""
    import threading

    from portal.extensions import socketio
    from portal.worker import run_worker

    stop = threading.Event()
    socketio.start_background_task(run_worker, app, stop, serving=True)


@click.command("worker")
@with_appcontext
def worker_command():
    """Run the worker's duties until stopped (SIGTERM or Ctrl+C); several may run."""
    import signal
    import threading

    from portal.duties import registered_duties, worker_name
    from portal.worker import run_worker

    app = current_app._get_current_object()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    names = ", ".join(duty.name for duty in registered_duties(app))
    click.echo(f"city worker {worker_name()} started: {names}")
    run_worker(app, stop, say=click.echo)
    click.echo("city worker stopped")


def main() -> None:
    cli = FlaskGroup(create_app=create_app, help="Neighborhood Portal.")
    cli.add_command(run_command)  # replaces Flask's own `run`
    cli.main(prog_name="portal")
