"""A box as a real `hameau-edge run` subprocess on simulated buses, linked to the test broker.

The example town hall (examples/village-hall.toml) with its own database, its own simulated 1-Wire ids, every
sensor sampled at each tick and a [link] table with the device's credentials: it streams tens of records a
second. Killed (SIGKILL) or stopped (SIGTERM) and started again on the same database; its database read
read-only while it is dead.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from agent_processes import stop_and_clean
from broker import Broker

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"
ROM_IDS = ("28-0316a2794aff", "28-0316a2794b01")  # the example's two thermometers
LANES = ("event", "total", "raw")


def box_config(example: str, *, device: str, db: Path, rom_ids: tuple[str, str], link: dict[str, Any],
               interval_s: float, tick_s: float, commit_interval_s: float) -> str:
    """The example's text with this box's id, database, 1-Wire ids, fast sampling and a [link] table."""
    text = example
    for old, new in ((r'(?m)^id = "saint-aubin-mairie"', f'id = "{device}"'),
                     (r'(?m)^db_path = ".*"', f'db_path = "{db}"'),
                     (r"(?m)^interval_s = \d+", f"interval_s = {interval_s}"),
                     (r"(?m)^commit_interval_s = \d+", f"commit_interval_s = {commit_interval_s}"),
                     (r"(?m)^tick_s = \d+", f"tick_s = {tick_s}")):
        text, n = re.subn(old, new, text)
        assert n, f"the example has no {old!r} any more"
    for old, new in zip(ROM_IDS, rom_ids, strict=True):
        assert f'rom_id = "{old}"' in text, old
        text = text.replace(f'rom_id = "{old}"', f'rom_id = "{new}"')
    values = "".join(f"{key} = {_toml(value)}\n" for key, value in link.items())
    return f"{text}\n[link]\n{values}"


def _toml(value: object) -> str:
    if isinstance(value, str | Path):
        return f'"{value}"'
    return repr(value)


class BoxProcess:
    """One simulated box, started again and again on the same database; everything removed by close()."""

    def __init__(self, broker: Broker, directory: Path, *, device: str = "chaos-box", interval_s: float = 0.1,
                 tick_s: float = 0.5, commit_interval_s: float = 1.0, **link: Any) -> None:
        self.device = device
        self.directory = directory
        self.db = directory / "box.db"
        self.config = directory / "box.toml"
        self.tmpdir = directory / "agent-tmp"
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        self.rom_ids = (f"28-{uuid.uuid4().hex[:12]}", f"28-{uuid.uuid4().hex[:12]}")
        password = directory / "box.password"
        password.write_text(broker.add_device(device) + "\n", encoding="utf-8")
        password.chmod(0o600)
        table = {"broker": broker.url, "ca_file": broker.ca_path, "password_file": password,
                 "reconnect_min_s": 0.1, "reconnect_max_s": 1.0, "ack_timeout_s": 5.0,
                 "batch_age_total_s": 0.5, "batch_age_raw_s": 0.5} | link
        self.config.write_text(box_config(
            EXAMPLE.read_text(encoding="utf-8"), device=device, db=self.db, rom_ids=self.rom_ids, link=table,
            interval_s=interval_s, tick_s=tick_s, commit_interval_s=commit_interval_s), encoding="utf-8")
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The last process started."""
        return self.processes[-1] if self.processes else None

    @property
    def alive(self) -> bool:
        """Whether the last process started still runs."""
        return self.process is not None and self.process.poll() is None

    @property
    def log_path(self) -> Path:
        """Where every run of the box writes its log."""
        return self.directory / "box.log"

    def log(self) -> str:
        """Everything the box logged, all its runs."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def start(self) -> subprocess.Popen[bytes]:
        """Start `hameau-edge run` (dies with the test process when started from the main thread)."""
        command = [str(Path(sys.executable).parent / "hameau-edge"), "run", "--config", str(self.config)]
        setpriv = shutil.which("setpriv")
        if setpriv is not None and threading.current_thread() is threading.main_thread():
            command = [setpriv, "--pdeathsig", "KILL", *command]
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                       env={**os.environ, "TMPDIR": str(self.tmpdir)})
        self.processes.append(process)
        return process

    def kill(self) -> None:
        """SIGKILL, wherever the box is (mid-batch, mid-commit), and reap it."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait(10)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM (a clean stop) and the exit code."""
        assert self.process is not None
        self.process.terminate()
        return self.process.wait(timeout_s)

    def rows(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        """A query on the box's database, opened read-only (beside a running box, or while it is dead)."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, args).fetchall()
        finally:
            conn.close()

    def integrity(self) -> str:
        """PRAGMA integrity_check on the database, read-only ("ok" when sound)."""
        return "; ".join(str(row[0]) for row in self.rows("PRAGMA integrity_check"))

    def lanes(self) -> dict[str, tuple[int, int]]:
        """(last_seq, acked_seq) of each lane, as the box's outbox holds them."""
        return {LANES[lane]: (int(last), int(acked))
                for lane, last, acked in self.rows("SELECT lane, last_seq, acked_seq FROM outbox_lanes")}

    def outbox_rows(self) -> int:
        """Records still waiting in the outbox."""
        return int(self.rows("SELECT count(*) FROM outbox")[0][0])

    def close(self) -> None:
        """Kill what still runs and remove the box's temporary folders and simulated 1-Wire trees."""
        stop_and_clean(self.processes, self.tmpdir, self.rom_ids[0])
        stop_and_clean((), self.tmpdir, self.rom_ids[1])
