"""The production server: gunicorn with gevent workers, as `portal serve` and
`portal run` start it (the argument list, and the hand-over to gunicorn).

Why gunicorn's gevent worker (README, "Deployment"): one greenlet per connection holds
thousands of idle sockets in a few MB, so live pages cost little; its workers share one
listening socket, so N processes need no balancer in front. Gunicorn balances without
sticky sessions, which breaks Socket.IO's long-polling across workers: the portal's
pages therefore connect over WebSocket alone (SOCKETIO_TRANSPORTS), and the workers
reach each other's sockets through Redis.

Nothing here imports Flask: the command hands over with exec, so the gunicorn process
starts clean and each worker patches the standard library (gevent's monkey-patching)
before it imports the application (`portal.wsgi`).
"""

import os
import sys

WSGI_APP = "portal.wsgi:app"
HOOKS = "python:portal.gunicorn_hooks"
# Set by `portal run`: the web process also runs the worker's duties.
WORKER_IN_WEB = "PORTAL_WORKER_IN_WEB"


def gunicorn_argv(
    bind: str,
    workers: int,
    connections: int = 3000,
    timeout: int = 30,
    access_log: bool = False,
) -> list[str]:
    """The command line of the web server."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--worker-class",
        "gevent",
        "--workers",
        str(workers),
        "--worker-connections",
        str(connections),
        "--bind",
        bind,
        # A worker that stops answering its arbiter for this long is restarted; a slow
        # client cannot cause that, since it holds a greenlet, not the worker.
        "--timeout",
        str(timeout),
        "--graceful-timeout",
        "20",
        # Idle keep-alive connections cost a greenlet: kept longer than a proxy's or a
        # browser's own idle timeout (60 s in nginx), so the client never reuses one
        # the server is closing (bench.storm saw that race at 5 s).
        "--keep-alive",
        "75",
        "--error-logfile",
        "-",
        "--name",
        "portal",
        "--config",
        HOOKS,
    ]
    if access_log:
        argv += ["--access-logfile", "-"]
    argv.append(WSGI_APP)
    return argv


def hand_over(argv: list[str], worker_in_web: bool = False) -> None:
    """Replace this process with the server (same pid: signals and Ctrl+C reach it)."""
    env = dict(os.environ)
    if worker_in_web:
        env[WORKER_IN_WEB] = "1"
    else:
        env.pop(WORKER_IN_WEB, None)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(argv[0], argv, env)
