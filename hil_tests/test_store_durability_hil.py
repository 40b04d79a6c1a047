"""Commits that survive a power cut, proven by the system calls: strace counts the fdatasync of the write-ahead
log inside each commit (critical and batched), and the fsyncs of the safety copy and its directory.

A commit is durable when the log's frames are on the card before the call returns: with SQLite's WAL that
is one fdatasync of the -wal file after its writes. The script below marks each step on stdout, so that
strace's log shows which calls each step made.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = r'''
import os, sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo
from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.config.model import AgentConfig
from edge.controllers.events import Event
from edge.storage.keeper import StoreKeeper

def mark(text):
    os.write(1, f"MARK {text}\n".encode())

clock = SimClock(epoch=datetime(2026, 1, 12, 13, 0, tzinfo=UTC))
keeper = StoreKeeper(AgentConfig(db_path=__import__("pathlib").Path(sys.argv[1])), now=clock.now,
                     monotonic=clock.monotonic)
keeper.start(ZoneInfo("Europe/Paris"))
keeper.commit()
for n in range(3):
    clock.advance(120.0)
    for i in range(12):
        keeper.add_readings(clock.now(), "water-main", (reading("volume_total_l", "volume", 100.0 + n * 12 + i),))
    keeper.save_state("meter:water-main", {"total_l": 100.0 + n * 12 + 11})
    mark("batched")
    keeper.commit()
    mark("done")
now = clock.now()
mark("alarm")
keeper.raise_alarm("leak/burst", "burst", "leak", "burst", {"flow_lph": 9000.0}, now)
mark("done")
mark("event")
keeper.add_event_now(Event("interlock", "leak", "valve inlet-valve closed: burst", now))
mark("done")
keeper.save_state("controller:leak", {"latched": ["burst"], "valve": "closed"})  # what the agent's flush saves
keeper.save_status({"at": now.isoformat()})
mark("critical flush")
keeper.commit(critical=True)
mark("done")
keeper.close()
'''


def _strace(tmp_path: Path) -> list[str]:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (bash scripts/setup --test installs Debian's strace)")
    script = tmp_path / "commits.py"
    script.write_text(SCRIPT, encoding="utf-8")
    log = tmp_path / "strace.log"
    db = tmp_path / "hameau.db"
    done = subprocess.run(
        ["strace", "-f", "-y", "-qq", "-o", str(log), "-e", "trace=write,pwrite64,fsync,fdatasync,rename",
         sys.executable, str(script), str(db)],
        capture_output=True, text=True, timeout=120, cwd=Path(__file__).resolve().parent.parent,
    )
    if done.returncode != 0 and "ptrace" in done.stderr.lower():
        pytest.skip(f"strace cannot trace here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    return log.read_text(encoding="utf-8").splitlines()


def _steps(lines: list[str]) -> list[tuple[str, list[str]]]:
    """(step, the calls it made) for each marked step, in order."""
    steps: list[tuple[str, list[str]]] = []
    current: list[str] | None = None
    for line in lines:
        marked = re.search(r'"MARK ([a-z ]+)\\n"', line)
        if marked:
            if marked.group(1) == "done":
                current = None
            else:
                current = []
                steps.append((marked.group(1), current))
        elif current is not None:
            current.append(line)
    return steps


def _count(calls: list[str], call: str, path: str) -> int:
    """How many `call`s were made on a file whose path matches the regular expression `path`."""
    return sum(1 for c in calls if re.search(rf"\b{call}\(\d+<{path}>", c))


def _wal_synced_after_its_writes(calls: list[str]) -> bool:
    writes = [i for i, c in enumerate(calls) if re.search(r"\bpwrite64\(\d+<[^>]*-wal>", c)]
    syncs = [i for i, c in enumerate(calls) if re.search(r"\bfdatasync\(\d+<[^>]*-wal>", c)]
    return bool(writes) and bool(syncs) and max(syncs) > max(writes)


def test_store_every_commit_is_fdatasynced_before_it_returns(tmp_path: Path) -> None:
    steps = _steps(_strace(tmp_path))
    assert [name for name, _ in steps] == ["batched"] * 3 + ["alarm", "event", "critical flush"]
    for name, calls in steps:
        assert _count(calls, "fdatasync", r"[^>]*\.db-wal") == 1, (name, calls)
        assert _wal_synced_after_its_writes(calls), (name, calls)
    # The batched commits write nothing else; the critical flush also replaces the safety copy, durably:
    # the new file fsynced before its rename, then its directory.
    for _, calls in steps[:3]:
        assert _count(calls, "fsync", r"[^>]*") == 0
    flush = steps[-1][1]
    assert _count(flush, "fsync", r"[^>]*\.safety\.json\.\d+\.tmp") == 1
    renamed = [i for i, c in enumerate(flush) if re.search(r"\brename\(", c)]
    synced = [i for i, c in enumerate(flush) if re.search(r"\bfsync\(\d+<[^>]*\.tmp>", c)]
    dir_synced = [i for i, c in enumerate(flush) if re.search(rf"\bfsync\(\d+<{re.escape(str(tmp_path))}>\)", c)]
    assert synced and renamed and dir_synced and synced[0] < renamed[0] < dir_synced[0], flush
