"""Shared set-up for the benchmarks: a migrated portal in a temporary folder."""

import os
import resource
import tempfile

from flask_migrate import upgrade

from portal import create_app
from portal.areas.services import save_areas
from portal.demo.geography import demo_areas


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def portal_app(folder: str | None = None, **config):
    """A portal on a fresh SQLite file (or PORTAL_DATABASE_URL) with the demo areas."""
    folder = folder or tempfile.mkdtemp(prefix="portal-bench-")
    url = os.environ.get("PORTAL_DATABASE_URL") or f"sqlite:///{folder}/portal.db"
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "TESTING": True,
            **config,
        }
    )
    app.instance_path = folder
    with app.app_context():
        upgrade()
        save_areas(demo_areas())
    return app, folder
