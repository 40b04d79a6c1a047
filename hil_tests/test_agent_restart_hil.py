"""A box that dies (kill -9 of a live agent, a power cut in-process) comes back exactly where it was.

The meter totals are held to physics: right after the restart the total is at least the last
committed one, and at most that plus what the simulated meter's flow (written here) can have pushed
through between that commit and the first sample after the restart, plus one pulse. Alarms,
overrides and controller states come back identical to what was committed before the death.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from agent_processes import stop_and_clean

from drivers.sim.clock import SimClock
from edge.cli import main
from edge.config.loader import parse_config
from edge.controllers.overrides import Override
from edge.runtime.agent import Agent
from edge.runtime.calendar import SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from edge.storage.store import Store

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "village-hall.toml"
LITRES_PER_PULSE = 1.0  # the example's water-main
LIVE_FLOW_LPH = 36000.0  # ten litres a second through the live agent's simulated meter
OFF_S = 3.0  # how long the killed box stays off before it is started again


def _hall(db: Path, rom_id: str = "28-0316a2794aff", **replace: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert f"litres_per_pulse = {LITRES_PER_PULSE}" in text
    text = re.sub(r'(?m)^db_path = ".*"', f'db_path = "{db}"', text)
    text = text.replace('rom_id = "28-0316a2794aff"', f'rom_id = "{rom_id}"')
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


# -- kill -9 of a real `hameau-edge run` -----------------------------------------------------------


class Agents:
    """Live agents in their own processes, each with its own temporary folder; all cleaned up after."""

    def __init__(self, tmp_path: Path) -> None:
        self.rom_id = f"28-{uuid.uuid4().hex[:12]}"  # names this test's simulated 1-Wire tree
        self.config = tmp_path / "box.toml"
        self.db = tmp_path / "hameau.db"
        self.config.write_text(_hall(
            self.db, self.rom_id, **{
                "commit_interval_s = 120": "commit_interval_s = 1", "tick_s = 10": "tick_s = 0.5",
                "flow_lph = 45.0": f"flow_lph = {LIVE_FLOW_LPH}",
                "min_off_s = 300": "min_off_s = 0",  # the override lights the lamps at once
            }), encoding="utf-8")
        self.tmpdir = tmp_path / "agent-tmp"
        self.tmpdir.mkdir()
        self.logs = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> subprocess.Popen[bytes]:
        script = Path(sys.executable).parent / "hameau-edge"
        log = (self.logs / f"agent-{len(self.processes)}.log").open("wb")
        env = {**os.environ, "TMPDIR": str(self.tmpdir)}
        process = subprocess.Popen([str(script), "run", "--config", str(self.config)], stderr=log, env=env)
        log.close()
        self.processes.append(process)
        return process

    def close(self) -> None:
        stop_and_clean(self.processes, self.tmpdir, self.rom_id)


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Agents]:
    made = Agents(tmp_path)
    yield made
    made.close()


def _rows(db: Path, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, args).fetchall()


def _state(db: Path, key: str) -> dict[str, Any] | None:
    rows = _rows(db, "SELECT value FROM state WHERE key = ?", key)
    return json.loads(rows[0][0]) if rows else None


def _wait_for(condition: Callable[[], object], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except sqlite3.OperationalError:  # the agent is still creating the database
            pass
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _committed(db: Path) -> tuple[float, datetime]:
    """The meter total last committed, and when: the status snapshot is written in the same commit."""
    rows = _rows(db, "SELECT value FROM state WHERE key = 'meter:water-main'")
    status = _rows(db, "SELECT snapshot FROM status")
    return json.loads(rows[0][0])["total_l"], datetime.fromisoformat(json.loads(status[0][0])["at"])


def _totals_after(db: Path, rowid: int) -> list[tuple[datetime, float]]:
    rows = _rows(
        db, "SELECT ts, value FROM readings WHERE rowid > ? AND sensor = 'water-main' AND name = 'volume_total_l' "
        "ORDER BY rowid", rowid,
    )
    return [(datetime.fromtimestamp(ts, UTC), value) for ts, value in rows]


def _most_flow_l(flow_lph: float, since: datetime, until: datetime) -> float:
    """The most water a meter can count between two instants at a steady flow: that volume plus one pulse."""
    return flow_lph / 3600.0 * (until - since).total_seconds() + LITRES_PER_PULSE


def test_agent_survives_kill_9_with_totals_overrides_alarms_and_state_exactly(
    agents: Agents, capsys: pytest.CaptureFixture[str]
) -> None:
    db, config = agents.db, str(agents.config)
    first = agents.start()
    _wait_for(lambda: db.exists() and (_state(db, "meter:water-main") or {}).get("total_l", 0) >= 20)
    assert main(["relay", "street-lights", "on", "--for", "2h", "--config", config]) == 0
    technician = Store(db, monotonic=SimClock().monotonic)
    alarm_id = technician.raise_alarm(
        key="leak-hall/night_flow", kind="night_flow", source="leak-hall", reason="night flow 3 L/h",
        evidence={"night_flows_lph": [3.0, 3.1]}, at=datetime.now(UTC),
    )
    technician.close()
    _wait_for(lambda: (_state(db, "controller:street-main") or {}).get("mode") == "override")
    assert (_state(db, "controller:street-main") or {}).get("on") is True
    time.sleep(1.5)  # a few more commits with the water running

    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    total_at_kill, committed_at = _committed(db)
    assert total_at_kill >= 20
    assert (_state(db, "agent") or {}).get("running") is True, "the killed agent looks cleanly stopped"
    lights_before = _state(db, "controller:street-main")
    alarms_before = _rows(db, "SELECT * FROM alarms ORDER BY id")
    overrides_before = _rows(db, "SELECT * FROM overrides")
    [(last_rowid,)] = _rows(db, "SELECT max(rowid) FROM readings")
    time.sleep(OFF_S)

    second = agents.start()
    _wait_for(lambda: _totals_after(db, last_rowid))
    sampled_at, restarted_total = _totals_after(db, last_rowid)[0]
    assert restarted_total >= total_at_kill, "the total went back after the restart"
    assert restarted_total <= total_at_kill + _most_flow_l(LIVE_FLOW_LPH, committed_at, sampled_at), (
        "more water counted than the meter can have seen since the last commit"
    )
    # And the restarted meter counts on from there.
    _wait_for(lambda: (_state(db, "meter:water-main") or {})["total_l"] > restarted_total + 5)

    # Alarms and overrides are as they were, to the second; the lights' controller state too.
    assert _rows(db, "SELECT * FROM alarms ORDER BY id") == alarms_before
    assert _rows(db, "SELECT * FROM overrides") == overrides_before
    [(_, _, until_epoch, _, by, _)] = overrides_before
    lights_after = _state(db, "controller:street-main")
    assert lights_after is not None and lights_before is not None
    for key in ("mode", "on", "changed_at_s", "override_key"):
        assert lights_after[key] == lights_before[key], key
    capsys.readouterr()
    assert main(["status", "--json", "--config", config]) == 0
    status = json.loads(capsys.readouterr().out)
    assert main(["alarms", "--json", "--config", config]) == 0
    alarms = json.loads(capsys.readouterr().out)
    assert status["agent"]["pid"] == second.pid
    relay = next(r for r in status["relays"] if r["id"] == "street-lights")
    assert relay["on"] is True and relay["decided_by"] == f"override by {by}"
    assert datetime.fromisoformat(relay["until"]) == datetime.fromtimestamp(until_epoch, UTC)
    assert [(a["id"], a["key"], a["evidence"]) for a in alarms["alarms"]] == [
        (alarm_id, "leak-hall/night_flow", {"night_flows_lph": [3.0, 3.1]})
    ]
    agent_events = _rows(db, "SELECT reason FROM events WHERE kind = 'agent' ORDER BY id")
    assert [r for (r,) in agent_events] == ["started", "started after an unclean stop (power cut or crash)"]
    applied = _rows(db, "SELECT reason FROM events WHERE source = 'street-main' AND reason LIKE '%: applied'")
    assert len(applied) == 1, "the restarted controller announced the override again: its state was lost"
    assert _rows(db, "SELECT reason FROM events WHERE source = 'leak-hall' AND kind = 'fault'") == []

    second.send_signal(signal.SIGTERM)
    assert second.wait(timeout=20) == 0
    assert (_state(db, "agent") or {}).get("running") is False
    os.sync()


# -- a power cut in-process --------------------------------------------------------------------------

CUT_FLOW_LPH = 360.0  # a tenth of a litre a second: a bound loose by a few litres would show
START = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def power_cut_box(tmp_path: Path) -> Iterator[Callable[[], Any]]:
    """Build boxes (simulated hardware, store, agent) on one clock and one database; all closed after."""
    clock = SimClock(epoch=START)
    config = parse_config(_hall(tmp_path / "hameau.db"), tmp_path / "box.toml")
    opened: list[tuple[Any, Agent]] = []

    def boot() -> tuple[Any, Agent]:
        hardware = open_simulated_hardware(config, clock, modbus_line="loopback")
        hardware.parts.set_flow("water-main", CUT_FLOW_LPH)
        store = Store(config.agent.db_path, commit_interval_s=config.agent.commit_interval_s, monotonic=clock.monotonic)
        agent = Agent(config, hardware, store, clock, SimCalendar())
        opened.append((hardware, agent))
        return hardware, agent

    yield boot
    for hardware, agent in opened:
        agent.abandon()
        hardware.close()


def _run(hardware: Any, agent: Agent, ticks: int) -> None:
    for _ in range(ticks):
        hardware.parts.advance(10.0)
        agent.step()


def test_agent_power_cut_restores_the_meter_total_override_and_state_exactly(
    power_cut_box: Callable[[], Any],
) -> None:
    hardware, agent = power_cut_box()
    agent.start()
    _run(hardware, agent, 60 * 6)
    now = hardware.parts.clock.now()
    fete = Override("street-lights", True, now + timedelta(hours=4), now, "alice", "village fete")
    with Store(agent.store.path, monotonic=hardware.parts.clock.monotonic) as technician:
        technician.set_override(fete)
    _run(hardware, agent, 2 * 60 * 6 + 7)  # three hours and seventy seconds: the last commit is behind us
    assert agent.store.pending > 0
    db = agent.store.path
    agent.abandon()  # the power goes: nothing more is written
    hardware.close()
    total_at_cut, committed_at = _committed(db)
    assert total_at_cut >= CUT_FLOW_LPH * 2.9, "the meter did not count the flow before the cut"
    [(last_rowid,)] = _rows(db, "SELECT max(rowid) FROM readings")
    lights_at_cut = _state(db, "controller:street-main")
    assert lights_at_cut is not None and lights_at_cut["on"] is True and lights_at_cut["mode"] == "override"

    hardware.parts.clock.advance(600.0)  # ten minutes without power: the meter's pulses go uncounted
    hardware, agent = power_cut_box()
    agent.start()
    sampled_at, restarted_total = _totals_after(db, last_rowid)[0]
    assert total_at_cut <= restarted_total <= total_at_cut + _most_flow_l(CUT_FLOW_LPH, committed_at, sampled_at)
    assert agent.bank is not None
    lights = agent.bank.states["street-lights"]
    assert (lights.on, lights.decided_by, lights.until) == (True, "override by alice", fete.until)
    lights_after = _state(db, "controller:street-main")
    assert lights_after is not None
    assert {k: lights_after[k] for k in ("mode", "on", "changed_at_s", "override_key")} == {
        k: lights_at_cut[k] for k in ("mode", "on", "changed_at_s", "override_key")
    }
    _run(hardware, agent, 60)
    later_at, later_total = agent.store.readings("water-main", "volume_total_l")[-1]
    assert restarted_total < later_total <= restarted_total + _most_flow_l(CUT_FLOW_LPH, sampled_at, later_at)
    assert agent.store.events(kind="fault", source="leak-hall") == [], "the leak watch saw the meter go back"
