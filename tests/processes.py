"""Child processes for tests that start the portal for real: their output as it
arrives (with waits for a pattern, never sleeps), and stopping them by pid."""

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

PORTAL = os.path.join(os.path.dirname(sys.executable), "portal")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, what: str, seconds: float = 120):
    """Poll ``condition`` (a server's answer) until it is true; answer it."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        threading.Event().wait(0.1)  # polling, bounded by the deadline above
    return value


class Output:
    """A child's output as it arrives, with a wait for a pattern (no sleeping)."""

    def __init__(self, stream):
        self.lines: list[str] = []
        self.changed = threading.Condition()
        self.reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.reader.start()

    def _read(self, stream):
        for line in stream:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()
        with self.changed:
            self.lines.append("")  # end of output
            self.changed.notify_all()

    @property
    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: str, timeout: float = 120) -> re.Match:
        with self.changed:
            found = None

            def seen():
                nonlocal found
                found = re.search(pattern, self.text, re.S)
                return found or (self.lines and self.lines[-1] == "")

            self.changed.wait_for(seen, timeout)
        assert found, f"{pattern!r} never appeared in:\n{self.text[-4000:]}"
        return found


class Child:
    """A command of the portal's, started with its own environment."""

    def __init__(self, args: list[str], env: dict[str, str]):
        self.process = subprocess.Popen(
            args,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output = Output(self.process.stdout)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, signum=signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.reader.join(timeout=10)
        self.process.stdout.close()
