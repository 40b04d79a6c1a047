"""`hameau-fleet serve` as a real subprocess against the test broker, and a read-only look at its store."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from broker import Broker
from mqtt_probe import wait_until

ROOT = Path(__file__).resolve().parent.parent
SERVE = [sys.executable, "-c", "import sys; from fleet.cli import main; sys.exit(main())", "serve"]


class ServeProcess:
    """One serve process (started, killed, restarted on the same store file); its log in `log_path`."""

    def __init__(self, broker: Broker, directory: Path, *, client_id: str | None = "fleet.hameau",
                 db_url: str | None = None, user: int = 0) -> None:
        """`db_url` None: the SQLite file `fleet.db` in `directory`; `user` n: broker.fleet_user_credentials(n)."""
        self.broker = broker
        self.db_path = directory / "fleet.db"
        self.db_url = db_url or f"sqlite:///{self.db_path}"
        self.log_path = directory / "serve.log"
        self.password_path = directory / "fleet.password"
        self.username, password = broker.fleet_credentials if user == 0 else broker.fleet_user_credentials(user)
        self.password_path.write_text(password + "\n", encoding="utf-8")
        self.password_path.chmod(0o600)
        self.client_id = client_id
        self.process: subprocess.Popen[bytes] | None = None

    def command(self, *extra: str) -> list[str]:
        """The serve command line (deathsig'd to the test process when started from the main thread)."""
        args = [*SERVE, "--broker", self.broker.url, "--db", self.db_url,
                "--ca", str(self.broker.ca_path), "--username", self.username,
                "--password-file", str(self.password_path), *extra]
        if self.client_id is not None:
            args += ["--client-id", self.client_id]
        setpriv = shutil.which("setpriv")
        if setpriv is not None and threading.current_thread() is threading.main_thread():
            args = [setpriv, "--pdeathsig", "KILL", *args]
        return args

    def start(self, *extra: str, wait: bool = True) -> ServeProcess:
        """Start serve and wait until it has subscribed."""
        before = self.log().count("subscribed to")
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command(*extra), stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
        if wait and not wait_until(lambda: self.log().count("subscribed to") > before or not self.alive, 15.0):
            raise RuntimeError(f"serve did not subscribe; its log:\n{self.log()[-3000:]}")
        if wait and not self.alive:
            raise RuntimeError(f"serve exited {self.process.returncode}; its log:\n{self.log()[-3000:]}")
        return self

    @property
    def alive(self) -> bool:
        """Whether the process runs."""
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        """Everything serve wrote so far (all its runs)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL, wherever it is (mid-transaction included)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait(10)

    def terminate(self, timeout_s: float = 10.0) -> int:
        """SIGTERM and its exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout_s)

    def close(self) -> None:
        """Kill it if it still runs (the fixture's clean-up)."""
        self.kill()

    def rows(self, sql: str, *args: object) -> list[tuple]:
        """Rows of a query on the store file, read-only, beside the running process."""
        if not self.db_path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                return []
            raise
        finally:
            conn.close()

    def seqs(self, device: str, lane: str) -> list[int]:
        """Stored seqs of a device's lane, in order (duplicates would show: the query does not group)."""
        return [r[0] for r in self.rows("SELECT seq FROM records WHERE device = ? AND lane = ? ORDER BY seq",
                                        device, lane)]

    def rejects(self) -> dict[tuple[str, str], int]:
        """Counted rejects per (device, reason)."""
        return {(d, r): n for d, r, n in self.rows("SELECT device, reason, count FROM rejects")}


def wait_s(predicate: Callable[[], object], timeout_s: float = 10.0) -> bool:
    """wait_until with a longer default."""
    return wait_until(predicate, timeout_s, 0.01)
