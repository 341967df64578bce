"""Neighborhood Portal: the application factory and its registration steps."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides=None) -> Flask:
    """Build the app: defaults, then PORTAL_* variables, then ``overrides``."""
    # Imported here: importing the package (as `portal.wsgi` does before gevent has
    # patched the standard library) must not import Flask and what it imports.
    from flask import Flask

    app = Flask(
        __name__,
        instance_relative_config=True,
        # Where the SQLite file, the generated secret and uploads live by default.
        instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or None,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    configure(app, overrides)
    register_logging(app)
    register_converters(app)
    register_models()
    register_extensions(app)
    register_blueprints(app)
    register_sockets(app)
    register_sandbox(app)
    register_duties(app)
    register_commands(app)
    register_error_handlers(app)
    register_template_context(app)
    register_proxies(app)
    return app


def configure(app: Flask, overrides=None) -> None:
    from portal.config import Config

    app.config.from_object(Config)
    app.config.from_prefixed_env("PORTAL")
    app.config.update(overrides or {})
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config.get("DATABASE_URL") and not (overrides or {}).get(
        "SQLALCHEMY_DATABASE_URI"
    ):
        app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(
            app.instance_path, "portal.db"
        )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(app)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        # Several processes: the limits count in Redis, or each would count alone.
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"


def _instance_secret(app: Flask) -> str:
    """No PORTAL_SECRET_KEY: use (or make once) a random key kept in instance/, never in
    code.
    """
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        app.logger.warning("PORTAL_SECRET_KEY is not set: generated one into %s", path)
    return path.read_text().strip()


def register_proxies(app: Flask) -> None:
    from portal.security import trust_proxies

    # Last, so it wraps every other layer: Socket.IO's and the sandbox's middleware
    # then see the resident's address too, not the proxy's (else all anonymous
    # sockets would share one rate-limit budget).
    trust_proxies(app)


def register_logging(app: Flask) -> None:
    from portal.logs import init_logging

    init_logging(app)


def register_converters(app: Flask) -> None:
    from portal.bounds import WholeConverter

    # Before any route exists: every <int:…> then refuses numbers no id column holds.
    app.url_map.converters["int"] = WholeConverter


def register_extensions(app: Flask) -> None:
    from portal.assets import init_assets
    from portal.auth.session import init_login
    from portal.database import init_database
    from portal.extensions import csrf, db, limiter, mail, migrate
    from portal.i18n import init_i18n
    from portal.map.spatial import include_object
    from portal.realtime import init_realtime
    from portal.security import init_security

    init_security(app)
    init_database(app)
    migrate.init_app(
        app,
        db,
        directory=str(Path(__file__).parent / "migrations"),
        render_as_batch=True,
        include_object=include_object,
    )
    csrf.init_app(app)
    limiter.init_app(app)
    mail.init_app(app)
    init_login(app)
    init_i18n(app)
    init_realtime(app)
    init_assets(app)


def register_models() -> None:
    # Every model module, so migrations and relationships see all tables.
    import portal.areas.models  # noqa: F401
    import portal.auth.models  # noqa: F401
    import portal.events.models  # noqa: F401
    import portal.forums.models  # noqa: F401
    import portal.health  # noqa: F401
    import portal.liaisons.models  # noqa: F401
    import portal.map.models  # noqa: F401
    import portal.map.stamps  # noqa: F401
    import portal.notifications.models  # noqa: F401
    import portal.tickets.app_keys  # noqa: F401
    import portal.tickets.models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    # Imported here, not at module top, so the models and views bind to this app's
    # extensions.
    from portal.apiv1 import init_api
    from portal.areas.views import bp as areas_bp
    from portal.auth.views import bp as auth_bp
    from portal.events.views import bp as events_bp
    from portal.forums.moderation_views import bp as moderation_bp
    from portal.forums.services import on_ticket_event
    from portal.forums.views import bp as forums_bp
    from portal.health import init_health
    from portal.home.views import bp as home_bp
    from portal.liaisons.batch_views import bp as batches_bp
    from portal.liaisons.views import bp as liaisons_bp
    from portal.map.views import bp as map_bp
    from portal.notifications.views import bp as notifications_bp
    from portal.tickets.admin_views import bp as city_admin_bp
    from portal.tickets.feeds import register as ticket_feeds
    from portal.tickets.open311 import bp as open311_bp
    from portal.tickets.services import event_recorded
    from portal.tickets.views import bp as tickets_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(areas_bp)
    app.register_blueprint(open311_bp)
    app.register_blueprint(map_bp)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(city_admin_bp)
    app.register_blueprint(forums_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(liaisons_bp)
    app.register_blueprint(batches_bp)
    app.register_blueprint(events_bp)
    app.register_blueprint(notifications_bp)
    init_health(app)
    event_recorded.connect(on_ticket_event)
    ticket_feeds()
    init_api(app)


def register_sandbox(app: Flask) -> None:
    from portal.sandbox.mount import mount_sandbox

    mount_sandbox(app)


def register_duties(app: Flask) -> None:
    # Each domain adds what the worker does for it (the sandbox city adds its own).
    from portal.events.duties import register as events_duties
    from portal.notifications.digests import register as digest_duty
    from portal.notifications.email import register as mail_duty
    from portal.tickets.duties import register as tickets_duties

    tickets_duties(app)
    events_duties(app)
    mail_duty(app)
    digest_duty(app)


def register_sockets(app: Flask) -> None:
    from portal.events.sockets import EventsNamespace
    from portal.extensions import socketio
    from portal.forums.sockets import ForumsNamespace
    from portal.liaisons.notify import on_tickets_announced
    from portal.liaisons.sockets import BatchesNamespace
    from portal.map.sockets import MapNamespace
    from portal.notifications.notify import NAMESPACE as NOTIFICATIONS
    from portal.notifications.sockets import NotificationsNamespace
    from portal.sockets import PortalNamespace, init_socket_limits
    from portal.tickets.notify import tickets_announced

    init_socket_limits(app)
    socketio.on_namespace(PortalNamespace("/"))
    socketio.on_namespace(MapNamespace("/map"))
    socketio.on_namespace(ForumsNamespace("/forums"))
    socketio.on_namespace(BatchesNamespace("/batches"))
    socketio.on_namespace(EventsNamespace("/events"))
    socketio.on_namespace(NotificationsNamespace(NOTIFICATIONS))
    tickets_announced.connect(on_tickets_announced)


def register_commands(app: Flask) -> None:
    from portal.areas.cli import areas_cli
    from portal.auth.cli import tokens_cli, users_cli
    from portal.cli import worker_command
    from portal.demo.cli import demo_cli
    from portal.sandbox.cli import sandbox_cli
    from portal.tickets.app_keys import keys_cli
    from portal.tickets.cli import city_cli

    # The worker is above the domains, so it joins the city group from up here.
    city_cli.add_command(worker_command)
    for group in (
        users_cli,
        tokens_cli,
        areas_cli,
        demo_cli,
        city_cli,
        sandbox_cli,
        keys_cli,
    ):
        app.cli.add_command(group)


def register_error_handlers(app: Flask) -> None:
    from portal.errors import register_error_handlers as register

    register(app)


def register_template_context(app: Flask) -> None:
    from flask_babel import get_locale

    from portal.auth.forms import ConfirmForm
    from portal.notifications.views import bell_context

    app.context_processor(bell_context)

    @app.context_processor
    def _layout_context():
        return {
            "city_name": app.config["CITY_NAME"],
            "get_locale": get_locale,
            "logout_form": ConfirmForm,
        }
