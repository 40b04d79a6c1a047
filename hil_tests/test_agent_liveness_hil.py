"""`hameau-edge status` does not lie: a real `hameau-edge run` (simulated box, its own process) is running while
it holds its lock, and not a moment after it stopped or died; a database belongs to one device.

- SIGTERM: status says at once that the agent is not running, when it stopped and by what, and shows the
  relays as it left them: each in the safe state the config gives it (street lights "on", heating "off").
- kill -9: status says at once that it is not running and that it did not stop cleanly.
- A second `run` on the same database is refused (exit 2, one line naming the running agent's pid).
- The village inlet's config on the town hall's database is refused by every command, naming both ids.
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
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from agent_processes import stop_and_clean

from edge.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALL, INLET = "saint-aubin-mairie", "saint-aubin-chateau-eau"  # the examples' device ids
PARIS = ZoneInfo("Europe/Paris")


def _config(example: str, db: Path, rom_id: str, *, fast: bool = True) -> str:
    text = (EXAMPLES / example).read_text(encoding="utf-8")
    text = re.sub(r'(?m)^db_path = ".*"', f'db_path = "{db}"', text)
    text = text.replace('rom_id = "28-0316a2794aff"', f'rom_id = "{rom_id}"')
    # The heating's minimum off time is gone, so that an override switches at once whatever the hour of the
    # week the test runs at (out of opening hours the hall's heating starts off and would be held 5 min).
    hall_heating = {"max_preheat_min = 480": "max_preheat_min = 480\nmin_off_s = 0"} if "hall" in example else {}
    # The simulated roof reads 850 lx: daylight. The box is moved to the longitude where it is noon now, so
    # that its astronomical clock agrees (at night it would rightly distrust 850 lx and keep the lamps lit).
    utc = datetime.now(UTC)
    noon_longitude = (12.0 - utc.hour - utc.minute / 60.0) * 15.0
    text = text.replace("longitude = 5.726", f"longitude = {(noon_longitude + 180.0) % 360.0 - 180.0:.3f}")
    for old, new in {"commit_interval_s = 120": "commit_interval_s = 1", "tick_s = 10": "tick_s = 0.5",
                     **hall_heating}.items():
        assert old in text, old
        text = text.replace(old, new) if fast else text
    return text


class Box:
    """The town hall's config on a temporary database, and the `hameau-edge run` processes started on it."""

    def __init__(self, tmp_path: Path, *, fast: bool = True) -> None:
        self.rom_id = f"28-{uuid.uuid4().hex[:12]}"  # names this test's simulated 1-Wire tree
        self.db = tmp_path / "hameau.db"
        self.config = tmp_path / "hall.toml"
        self.config.write_text(_config("village-hall.toml", self.db, self.rom_id, fast=fast), encoding="utf-8")
        self.tmpdir = tmp_path / "agent-tmp"
        self.tmpdir.mkdir()
        self.logs = tmp_path
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, config: Path | None = None) -> subprocess.Popen[bytes]:
        script = Path(sys.executable).parent / "hameau-edge"
        log = (self.logs / f"agent-{len(self.processes)}.log").open("wb")
        env = {**os.environ, "TMPDIR": str(self.tmpdir)}
        process = subprocess.Popen([str(script), "run", "--config", str(config or self.config)], stderr=log, env=env)
        log.close()
        self.processes.append(process)
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        return (self.logs / f"agent-{self.processes.index(process)}.log").read_text(encoding="utf-8")

    def close(self) -> None:
        stop_and_clean(self.processes, self.tmpdir, self.rom_id)


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Box]:
    made = Box(tmp_path)
    yield made
    made.close()


def _json_status(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """`hameau-edge status --json`: (exit status, report)."""
    capsys.readouterr()
    code = main(["status", "--json", "--config", str(config)])
    return code, json.loads(capsys.readouterr().out)


def _status(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str]:
    """`hameau-edge status` as JSON and as text, once the agent is settled: (exit status, report, text)."""
    code, report = _json_status(config, capsys)
    assert main(["status", "--config", str(config)]) == code
    return code, report, capsys.readouterr().out


# An agent starting while the machine's cores also run other tests' processes has taken over 30 s.
def _wait_for(condition: Callable[[], object], timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _relays(report: dict[str, Any]) -> dict[str, tuple[bool | None, str | None]]:
    return {r["id"]: (r["on"], r["decided_by"]) for r in report["relays"]}


def _running(box: Box, pid: int, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Wait until status shows the agent `pid` running with the street lights off (850 lx on the roof)."""
    found: dict[str, Any] = {}

    def seen() -> bool:  # the agent may take its lock between two calls: JSON only while waiting
        code, report = _json_status(box.config, capsys)
        return code == 0 and _relays(report)["street-lights"] == (False, "street-main")

    _wait_for(seen)
    found["code"], found["report"], found["text"] = _status(box.config, capsys)
    assert found["report"]["agent"]["pid"] == pid
    assert re.search(rf"(?m)^agent: running, pid {pid}, since \w\w\w \d\d \w\w\w \d\d:\d\d CES?T, version ",
                     found["text"]), found["text"]
    return found["report"]


def test_status_after_sigterm_says_when_and_by_what_it_stopped_with_relays_in_their_safe_states(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = box.start()
    _running(box, agent.pid, capsys)
    assert main(["relay", "hall-heating", "on", "--for", "1h", "--config", str(box.config)]) == 0
    _wait_for(lambda: _relays(_json_status(box.config, capsys)[1])["hall-heating"][0] is True)
    last_running = datetime.fromisoformat(_json_status(box.config, capsys)[1]["agent"]["last_seen"])

    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=20) == 0
    code, report, text = _status(box.config, capsys)
    assert code == 1 and report["agent"]["running"] is False and report["agent"]["stopped_cleanly"] is True
    stopped = report["agent"]["stopped"]
    assert stopped["by"] == "SIGTERM"
    # On the agent's own clock (a simulated box's runs a little ahead of the wall): after its last running
    # snapshot (not its start, not a snapshot of before), and soon after it (a commit is 1 s, a tick 0.5 s;
    # 10 s leaves room for a loaded machine).
    at = datetime.fromisoformat(stopped["at"])
    assert 0 < (at - last_running).total_seconds() <= 10.0, (last_running, at)
    assert f"agent: not running; stopped at {at.astimezone(PARIS):%H:%M:%S %Z} by SIGTERM, " in text, text
    assert "; relays below are as it left them" in text
    # Each relay as the stop left it: its safe state from the config, whatever it was before.
    assert _relays(report) == {"street-lights": (True, "agent stopped"), "hall-heating": (False, "agent stopped")}
    assert re.search(r"(?m)^  street-lights  ON  by agent stopped: released at the stop: safe state$", text), text
    assert re.search(r"(?m)^  hall-heating   OFF by agent stopped: released at the stop: safe state$", text), text


def test_status_after_kill_9_says_at_once_that_it_did_not_stop_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    box = Box(tmp_path, fast=False)  # the example's own timing: a snapshot passed for "running" for 270 s
    try:
        _kill_9(box, capsys)
    finally:
        box.close()


def _kill_9(box: Box, capsys: pytest.CaptureFixture[str]) -> None:
    agent = box.start()
    _running(box, agent.pid, capsys)
    agent.send_signal(signal.SIGKILL)
    agent.wait(timeout=10)
    code, report, text = _status(box.config, capsys)
    assert code == 1 and report["agent"]["running"] is False
    assert report["agent"]["stopped"] is None and report["agent"]["stopped_cleanly"] is False
    seen = datetime.fromisoformat(report["agent"]["last_seen"]).astimezone(PARIS)
    assert f"AGENT NOT RUNNING: last seen {seen:%H:%M:%S %Z}, " in text and "(it did not stop cleanly)" in text
    # Not 2 commits + 3 ticks later (270 s with the example's 120 s and 10 s): the status right after says so.
    assert report["agent"]["age_s"] < 2 * 120 + 3 * 10, report["agent"]["age_s"]
    # The relays are shown as last seen (the agent could not release them: the outputs fall to their pull).
    assert _relays(report)["street-lights"] == (False, "street-main")


def test_second_run_on_the_same_database_is_refused_and_the_first_runs_on(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    first = box.start()
    _running(box, first.pid, capsys)
    second = box.start()
    assert second.wait(timeout=20) == 2
    lines = box.log(second).splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{box.config}: another agent (pid {first.pid} since "), lines
    assert lines[0].endswith(f") already runs on the database {box.db}: refusing to start a second one")
    assert first.poll() is None
    code, report, _ = _status(box.config, capsys)
    assert code == 0 and report["agent"]["pid"] == first.pid


def test_the_inlets_config_on_the_town_halls_database_is_refused_naming_both_ids(
    box: Box, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent = box.start()

    def recorded() -> object:  # by the agent itself, before any other command opened its database
        try:
            with sqlite3.connect(box.db) as conn:
                return conn.execute("SELECT value FROM state WHERE key = 'device'").fetchall()
        except sqlite3.OperationalError:  # still being created
            return None

    _wait_for(recorded)
    assert [json.loads(v) for (v,) in recorded()] == [{"id": HALL}]  # type: ignore[union-attr]
    _running(box, agent.pid, capsys)
    agent.send_signal(signal.SIGTERM)
    assert agent.wait(timeout=20) == 0
    inlet = tmp_path / "inlet.toml"
    inlet.write_text(_config("village-inlet.toml", box.db, box.rom_id), encoding="utf-8")
    refusal = (f"the database {box.db} belongs to device '{HALL}', not to '{INLET}' ({inlet}): "
               "refusing to use it\n")
    for command in (["status"], ["status", "--json"], ["alarms"], ["relay", "inlet-valve", "off"]):
        capsys.readouterr()
        assert main([*command, "--config", str(inlet)]) == 2, command
        out, err = capsys.readouterr()
        assert (out, err) == ("", refusal), command
    simulate = ["simulate", "--world", str(EXAMPLES / "village-inlet-world.toml"), "--days", "1", "--db", str(box.db)]
    assert main([*simulate, "--config", str(inlet)]) == 2
    assert capsys.readouterr() == ("", refusal)
    runner = box.start(inlet)
    assert runner.wait(timeout=20) == 2
    assert box.log(runner) == refusal
    # The hall's own config still uses it.
    code, report, _ = _status(box.config, capsys)
    assert code == 1 and report["device"] == HALL and report["agent"]["stopped"]["by"] == "SIGTERM"
