"""WSGI entry point beside the package: `gunicorn -k gevent wsgi:app` (the same as
`portal.wsgi:app`, which `portal serve` uses)."""

from portal.wsgi import app  # noqa: F401
