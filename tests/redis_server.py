"""A throwaway redis-server on loopback for tests, started, paused, stopped by pid."""

import shutil
import signal
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field

import redis

from tests.processes import wait_until

REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    """Whether a server on the port answers PING (a bound port may not serve yet)."""
    try:
        with _client(port) as client:
            return client.ping()
    except redis.RedisError:
        return False


def _client(port: int) -> redis.Redis:
    return redis.Redis(host="127.0.0.1", port=port, socket_timeout=5)


@dataclass
class RedisServer:
    port: int
    folder: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="redis-"))
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 30.0) -> "RedisServer":
        """Start (or start again, on the same port and folder) and wait for PING."""
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.folder,
                "--logfile",
                f"{self.folder}/redis.log",
            ],  # fmt: skip
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answering() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError("redis-server exited:\n" + self.log())
            return _answers(self.port)

        try:
            wait_until(answering, "redis-server to answer PING", timeout)
        except AssertionError:
            self.stop()
            raise RuntimeError("redis-server did not start:\n" + self.log()) from None
        return self

    def stop(self) -> None:
        """Stop the process (the folder stays, for a start again)."""
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused server cannot exit
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def pause(self) -> None:
        """Stop answering while keeping connections open: a stalled server."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def flush(self) -> None:
        """Forget every key (rate-limit counters), between tests sharing the server."""
        with _client(self.port) as client:
            client.flushall()

    def key_count(self) -> int:
        with _client(self.port) as client:
            return client.dbsize()

    def subscribers(self, channel: str) -> int:
        """How many clients listen on the channel (a web process, once it serves)."""
        with _client(self.port) as client:
            return dict(client.pubsub_numsub(channel)).get(channel.encode(), 0)

    def log(self) -> str:
        try:
            with open(f"{self.folder}/redis.log") as handle:
                return handle.read()[-4000:]
        except OSError:
            return ""

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(port: int | None = None) -> RedisServer:
    """A redis-server on 127.0.0.1 (at a free port unless given), nothing persisted."""
    return RedisServer(port or free_port()).start()
