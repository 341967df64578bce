"""A throwaway PostgreSQL server on loopback for tests, started and stopped by pid.

pytest-postgresql does the same job but runs pg_ctl as the current user, and PostgreSQL
refuses to run as root, which is what CI runs as; so this starts the server as the
`postgres` system user when the run is root.
"""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from dataclasses import dataclass


def _bindir() -> str:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(p.split("/")[4]),
    )
    if found:
        return os.path.dirname(found[-1])
    postgres = shutil.which("postgres")
    if postgres:
        return os.path.dirname(postgres)
    raise RuntimeError(
        "PostgreSQL is not installed: run `make test`, which installs it"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    process: subprocess.Popen
    datadir: str
    port: int
    watcher: threading.Thread | None = None

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.watcher:
            self.watcher.join(timeout=10)
        if self.process.stderr:
            self.process.stderr.close()
        shutil.rmtree(self.datadir, ignore_errors=True)


def start(timeout: float = 60.0, settings: dict | None = None) -> PostgresServer:
    """initdb a temporary cluster and start it on 127.0.0.1 at a free port.

    :param settings: more server settings, e.g. {"shared_buffers": "1GB"}.
    """
    bindir = _bindir()
    as_root = os.geteuid() == 0
    user = {}
    base = tempfile.mkdtemp(prefix="portal-pg-")
    datadir = os.path.join(base, "data")
    if as_root:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        user = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8"}
    subprocess.run(
        [
            f"{bindir}/initdb",
            "-D",
            datadir,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
        env=env,
        cwd=base,
        **user,
    )
    port = _free_port()
    process = subprocess.Popen(
        [
            f"{bindir}/postgres",
            "-D",
            datadir,
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-k",
            base,
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
            *[f"-c{name}={value}" for name, value in (settings or {}).items()],
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=base,
        **user,
    )
    server = PostgresServer(process, base, port)
    ready = threading.Event()
    log: list[str] = []

    def watch_log():
        # The server says when it accepts connections; keep draining so it never blocks.
        for line in process.stderr:
            log.append(line)
            if "ready to accept connections" in line:
                ready.set()
        ready.set()  # exited: wake the waiter, which then sees the dead process

    server.watcher = threading.Thread(target=watch_log, daemon=True)
    server.watcher.start()
    if not ready.wait(timeout) or process.poll() is not None:
        server.stop()
        raise RuntimeError("PostgreSQL did not start:\n" + "".join(log[-20:]))
    return server


def create_database(server: PostgresServer, name: str) -> str:
    import psycopg

    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres",
        autocommit=True,
    ) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)
