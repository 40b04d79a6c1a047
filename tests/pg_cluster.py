"""A throwaway PostgreSQL cluster: Debian's server run by hand (initdb into a temporary directory, a free
loopback port, its socket in that directory), for the fleet store's tests (conftest.py) and the benches."""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REQUIRE_POSTGRES_ENV = "HAMEAU_REQUIRE_POSTGRES"
#: initdb refuses to run as root: as root the cluster runs as this user (the Debian package creates it).
CLUSTER_USER = "postgres"


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian: /usr/lib/postgresql/N/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
        if p.parent.parent.name.isdigit() else 0,
    )
    return found[-1].parent if found else None


def postgres_unavailable() -> str | None:
    """Why no throwaway cluster can run here, or None."""
    if postgres_bin() is None:
        return "PostgreSQL server not installed (Debian package postgresql; `bash scripts/setup --test`)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(CLUSTER_USER)
        except KeyError:
            return f"running as root and there is no {CLUSTER_USER!r} user to run the cluster as"
    return None


def require_postgres() -> None:
    """Skip with the reason, or fail with it when HAMEAU_REQUIRE_POSTGRES=1."""
    reason = postgres_unavailable()
    if reason is None:
        return
    if os.environ.get(REQUIRE_POSTGRES_ENV) == "1":
        pytest.fail(f"{REQUIRE_POSTGRES_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgCluster:
    """A throwaway PostgreSQL cluster on a free loopback port (trust authentication, loopback only)."""

    def __init__(self, *, durable: bool = False) -> None:
        """`durable`: fsync and full-page writes on, as in production (the tests run without, for speed)."""
        self.durable = durable
        bin_dir = postgres_bin()
        assert bin_dir is not None
        self.bin_dir = bin_dir
        self.dir = Path(tempfile.mkdtemp(prefix="hameau-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._names = itertools.count(1)
        self._user: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            self._user = CLUSTER_USER
            entry = pwd.getpwnam(CLUSTER_USER)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self.superuser = "hameau_test"

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            args, user=self._user, cwd=self.dir, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[-800:]}")

    def start(self) -> PgCluster:
        """initdb, then the server in the foreground of a child process; wait until it accepts connections."""
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", self.superuser, "--auth=trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )
        self._process = subprocess.Popen(
            [
                str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.dir),
                "-h", "127.0.0.1", "-c", f"fsync={'on' if self.durable else 'off'}",
                "-c", f"full_page_writes={'on' if self.durable else 'off'}",
                "-c", "max_connections=300", "-c", "log_min_messages=warning",
            ],
            user=self._user, cwd=self.dir, stdout=subprocess.DEVNULL, stderr=(self.dir / "server.log").open("wb"),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.dir / 'server.log').read_text()[-800:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                if self._ready():
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("postgres did not accept connections within 60 s")

    def _ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url("postgres"), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def url(self, database: str) -> str:
        """A libpq URL to one database of the cluster."""
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = f"fleet_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then remove every file."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
