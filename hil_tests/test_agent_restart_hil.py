"""A live agent killed with SIGKILL comes back with its meter totals, overrides, alarms and state."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.clock import SimClock
from edge.cli import main
from edge.storage.store import Store

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"


def _config(tmp_path: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('db_path = "/var/lib/hameau/hameau.db"', f'db_path = "{tmp_path / "hameau.db"}"')
    text = text.replace("commit_interval_s = 120", "commit_interval_s = 1").replace("tick_s = 10", "tick_s = 0.5")
    text = text.replace("flow_lph = 45.0", "flow_lph = 36000.0")  # ten litres a second: totals move fast
    path = tmp_path / "box.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _agent(config: Path) -> subprocess.Popen[bytes]:
    script = Path(sys.executable).parent / "hameau-edge"
    return subprocess.Popen([str(script), "run", "--config", str(config)], stderr=subprocess.PIPE)


def _sim_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("hameau-*")) | set(Path("/dev/shm").glob("hameau-*"))


@pytest.fixture
def agents() -> Iterator[list[subprocess.Popen[bytes]]]:
    before = _sim_dirs()
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    # A killed agent cannot remove its simulated parts' temporary folders: do it for it.
    for leftover in _sim_dirs() - before:
        shutil.rmtree(leftover, ignore_errors=True)


def _state(db: Path, key: str) -> dict | None:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    return None if row is None else json.loads(row[0])


def _wait_for(condition, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_agent_survives_kill_9_with_totals_overrides_alarms_and_state(
    tmp_path: Path, agents: list[subprocess.Popen[bytes]], capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path)
    db = tmp_path / "hameau.db"
    agents.append(_agent(config))
    _wait_for(lambda: db.exists() and (_state(db, "meter:water-main") or {}).get("total_l", 0) >= 20)

    assert main(["relay", "street-lights", "on", "--for", "2h", "--config", str(config)]) == 0
    technician = Store(db, monotonic=SimClock().monotonic)
    alarm_id = technician.raise_alarm(
        key="leak-hall/night_flow", kind="night_flow", source="leak-hall", reason="night flow 3 L/h",
        evidence={"night_flows_lph": [3.0, 3.1]}, at=datetime.now(UTC),
    )
    technician.close()
    _wait_for(lambda: (_state(db, "controller:street-main") or {}).get("mode") == "override")

    agents[0].send_signal(signal.SIGKILL)
    agents[0].wait(timeout=10)
    total_at_kill = _state(db, "meter:water-main")["total_l"]
    assert _state(db, "agent")["running"] is True, "the killed agent looks cleanly stopped"

    agents.append(_agent(config))
    _wait_for(lambda: (_state(db, "meter:water-main") or {}).get("total_l", 0) > total_at_kill + 5)
    capsys.readouterr()
    assert main(["status", "--json", "--config", str(config)]) == 0
    status = json.loads(capsys.readouterr().out)
    assert main(["alarms", "--json", "--config", str(config)]) == 0
    alarms = json.loads(capsys.readouterr().out)

    relay = next(r for r in status["relays"] if r["id"] == "street-lights")
    assert relay["on"] is True and relay["decided_by"].startswith("override")
    assert datetime.fromisoformat(relay["until"]) - datetime.now(UTC) > timedelta(hours=1, minutes=50)
    assert any(a["id"] == alarm_id for a in alarms["alarms"])
    with sqlite3.connect(db) as conn:
        reasons = [r for (r,) in conn.execute("SELECT reason FROM events WHERE kind = 'agent' ORDER BY id")]
    assert reasons[:2] == ["started", "started after an unclean stop (power cut or crash)"]
    assert _state(db, "controller:street-main")["mode"] == "override"

    agents[1].send_signal(signal.SIGTERM)
    assert agents[1].wait(timeout=20) == 0
    assert _state(db, "agent")["running"] is False
    os.sync()
