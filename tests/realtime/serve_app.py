"""One web process for the cross-process tests: `python -m tests.realtime.serve_app
PORT CONFIG_JSON` builds the portal with that configuration and serves it on
127.0.0.1:PORT until it is sent SIGTERM."""

import json
import signal
import sys

from portal import create_app
from portal.extensions import socketio


def main(argv: list[str]) -> None:
    port, config = int(argv[1]), json.loads(argv[2])
    app = create_app(config)
    # SIGTERM as an exit, so the server's sockets close before the process ends.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    socketio.run(
        app,
        host="127.0.0.1",
        port=port,
        allow_unsafe_werkzeug=True,
        use_reloader=False,
        log_output=False,
    )


if __name__ == "__main__":
    main(sys.argv)
