"""The portal served as `portal run` serves it, for benchmarks (own process).

    python -m bench.serve_portal URL FOLDER PORT [threading|gevent] [KEY=VALUE ...]

gevent must patch the standard library before anything else is imported, which is
why this is a module of its own rather than a function run by multiprocessing.
"""

import sys

if len(sys.argv) > 4 and sys.argv[4] == "gevent":
    from gevent import monkey

    monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402


def main() -> None:
    from portal import create_app
    from portal.extensions import socketio

    url, folder, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mode = sys.argv[4] if len(sys.argv) > 4 else "threading"
    extra = {k: json.loads(v) for k, v in (a.split("=", 1) for a in sys.argv[5:])}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "SOCKETIO_ASYNC_MODE": mode,
            "CITY_WORKER_IN_RUN": False,
            **extra,
        }
    )
    app.instance_path = folder
    socketio.run(
        app,
        host="127.0.0.1",
        port=port,
        allow_unsafe_werkzeug=True,
        use_reloader=False,
        log_output=False,
    )


if __name__ == "__main__":
    main()
