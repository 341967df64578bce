"""The web process's application: `gunicorn -k gevent portal.wsgi:app`, as `portal
serve` and `portal run` start it."""

import os

from gevent import monkey

# Gunicorn's gevent worker has patched already, before importing this module; this
# covers any other server that imports it first. Patching again changes nothing.
if not monkey.is_module_patched("socket"):
    monkey.patch_all()

from portal import create_app  # noqa: E402
from portal.serving import WORKER_IN_WEB  # noqa: E402

app = create_app()

if os.environ.get(WORKER_IN_WEB) == "1":
    from portal.worker import start_beside_server  # noqa: E402

    start_beside_server(app)
