"""The `portal` console script: Flask's CLI, with a `run` that sets everything up and
a `serve` for production."""

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
    """Upgrade the database, load the demo on first run, and serve as production does
    (one gunicorn gevent process, with the worker's duties beside it)."""
    from flask_migrate import upgrade

    from portal.demo import services as demo
    from portal.serving import gunicorn_argv, hand_over

    app = current_app._get_current_object()
    click.echo("upgrading the database…")
    upgrade()
    if not no_demo and demo.is_empty():
        demo.load_demo(progress=click.echo)
    if not no_demo:
        click.echo(demo.accounts_text(app.config["DEMO_PASSWORD"]))
    click.echo(f"Neighborhood Portal on http://{host}:{port}/  (Ctrl+C stops it)")
    _release(app)
    hand_over(
        gunicorn_argv(_bind(host, port), workers=1),
        worker_in_web=bool(app.config["CITY_WORKER_IN_RUN"]),
    )


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option(
    "--workers",
    default=2,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Web processes; about one per CPU.",
)
@click.option(
    "--connections",
    default=3000,
    show_default=True,
    type=click.IntRange(10, 100_000),
    help="Open connections (pages and live sockets, about 75 KB each) each process "
    "holds at most.",
)
@click.option("--access-log", is_flag=True, help="Log every request to stdout.")
@with_appcontext
def serve_command(host, port, workers, connections, access_log):
    """Serve in production: gunicorn with gevent workers (README: Deployment). Run
    `portal db upgrade` first, and `portal city worker` beside it."""
    from portal.serving import gunicorn_argv, hand_over

    app = current_app._get_current_object()
    _require_current_schema()
    if workers > 1 and not app.config.get("REDIS_URL"):
        raise click.ClickException(
            "several web processes need PORTAL_REDIS_URL: without it a live update, "
            "a closed socket or a rate limit would stay inside one process"
        )
    _release(app)
    hand_over(
        gunicorn_argv(
            _bind(host, port),
            workers=workers,
            connections=connections,
            access_log=access_log,
        )
    )


def _require_current_schema() -> None:
    """Refuse to serve a database this release's migrations have not reached: every
    page would fail on a missing column instead."""
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from portal.extensions import db

    config = current_app.extensions["migrate"].migrate.get_config()
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current != heads:
        raise click.ClickException(
            "the database is not at this release's schema: run `portal db upgrade` "
            "first"
        )


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _release(app) -> None:
    """Close what this process opened before it becomes the server."""
    from portal.extensions import db

    db.session.remove()
    db.engine.dispose()


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
    cli.add_command(serve_command)
    cli.main(prog_name="portal")
