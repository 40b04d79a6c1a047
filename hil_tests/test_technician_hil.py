"""The technician's commands end to end on a real SQLite file shared with a running agent, and kill -9."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.cli import main
from edge.runtime.lock import AgentLock
from edge.storage.store import Store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "village-hall.toml"
FROST = "frost protection: hall at 4.5 °C, heating must stay on"


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    """The example box with its database in the test's directory."""
    path = tmp_path / "box.toml"
    text = EXAMPLE.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^db_path = ".*"', 'db_path = "data/hameau.db"', text)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "hameau.db"


@pytest.fixture
def agent_store(db_path: Path) -> Iterator[Store]:
    """The agent's own connection, open while the technician's commands run."""
    store = Store(db_path, commit_interval_s=30.0, monotonic=time.monotonic)
    yield store
    store.close()


@pytest.fixture(autouse=True)
def technician_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.delenv("HAMEAU_CONFIG", raising=False)
    monkeypatch.setenv("USER", "ana")


def _snapshot(at: datetime, interlocks: dict[str, str] | None = None) -> dict[str, Any]:
    """A status snapshot as the agent saves it."""
    return {
        "at": at.isoformat(),
        "agent": {"pid": 4242, "started_at": (at - timedelta(hours=5)).isoformat(), "version": "0.3.0"},
        "sensors": {
            "lux-roof": {
                "readings": {"illuminance_lx": {"value": 850.0, "unit": "lx"}},
                "at": (at - timedelta(seconds=10)).isoformat(), "health": "ok", "fault": None,
            },
            "water-main": {
                "readings": {
                    "volume_total_l": {"value": 12345.0, "unit": "L"},
                    "flow_lph": {"value": 0.0, "unit": "L/h"},
                },
                "at": (at - timedelta(seconds=30)).isoformat(), "health": "ok", "fault": None,
            },
        },
        "controllers": {"heating": {"kind": "heating", "mode": "frost", "reason": "hall unoccupied, 4.5 °C"}},
        "relays": {
            "street-lights": {
                "on": False, "decided_by": "lights", "reason": "daylight", "until": None, "feedback": False,
            },
            "hall-heating": {
                "on": True, "decided_by": "heating", "reason": "frost", "until": None, "feedback": None,
            },
        },
        "interlocks": interlocks or {},
    }


def _now() -> datetime:
    return datetime.now(UTC)


def test_status_while_the_agent_runs(
    agent_store: Store, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_store.save_status(_snapshot(_now() - timedelta(seconds=5)))
    agent_store.commit()
    # Running is what the agent's lock says (held here, by this process), not the snapshot's age.
    lock = AgentLock(agent_store.path, "saint-aubin-mairie", datetime(2026, 1, 10, 6, 30, tzinfo=UTC))
    lock.acquire()
    try:
        assert main(["status", "--config", str(config_path)]) == 0
        text = capsys.readouterr().out
        assert main(["status", "--config", str(config_path), "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
    finally:
        lock.release()
    assert main(["status", "--config", str(config_path)]) == 1, "the lock released: not running, whatever the age"
    capsys.readouterr()
    assert f"agent: running, pid {os.getpid()}, since Sat 10 Jan 07:30 CET, version 0.3.0" in text
    assert "illuminance_lx = 850 lx, " in text and "volume_total_l = 12345 L, flow_lph = 0 L/h" in text
    assert "heating  heating, mode frost: hall unoccupied, 4.5 °C" in text
    assert report["agent"]["running"] is True and 5 <= report["agent"]["age_s"] < 60
    assert report["database"]["size_bytes"] > 0
    relays = {r["id"]: r for r in report["relays"]}
    assert relays["hall-heating"]["on"] is True and relays["hall-heating"]["decided_by"] == "heating"


def test_status_says_the_agent_is_not_running(
    agent_store: Store, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_store.save_status(_snapshot(_now() - timedelta(hours=3)))
    agent_store.close()
    assert main(["status", "--config", str(config_path)]) == 1
    assert re.search(r"AGENT NOT RUNNING: last seen \d\d:\d\d:\d\d CES?T, 3 h ago \(it did not stop cleanly\)",
                     capsys.readouterr().out)


def test_status_without_a_database_creates_none(
    config_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--config", str(config_path)]) == 1
    out = capsys.readouterr().out
    assert "AGENT HAS NEVER RUN" in out and "does not exist yet" in out
    assert not db_path.exists()


def test_relay_override_reaches_the_running_agent(
    agent_store: Store, config_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_store.save_status(_snapshot(_now()))
    agent_store.commit()
    assert agent_store.changed_externally() is False
    command = ["relay", "street-lights", "on", "--for", "1h30m", "--reason", "fete", "--config", str(config_path)]
    assert main(command) == 0
    assert "street-lights forced ON until " in capsys.readouterr().out
    assert agent_store.changed_externally() is True
    override = agent_store.overrides()["street-lights"]
    assert override.on and override.until - override.set_at == timedelta(minutes=90)
    assert (override.by, override.reason) == ("technician:ana", "fete")
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT source, data FROM events WHERE kind = 'override'").fetchall()
    assert [(source, json.loads(data)["action"]) for source, data in rows] == [("technician:ana", "set")]
    assert main(["relay", "street-lights", "auto", "--config", str(config_path)]) == 0
    assert "back to automatic control" in capsys.readouterr().out
    assert agent_store.changed_externally() is True and agent_store.overrides() == {}


def test_relay_refused_by_an_interlock(
    agent_store: Store, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    agent_store.save_status(_snapshot(_now(), {"hall-heating": FROST}))
    agent_store.commit()
    assert main(["relay", "hall-heating", "off", "--for", "2h", "--config", str(config_path)]) == 3
    err = capsys.readouterr().err
    assert f"refused: hall-heating is interlocked: {FROST}" in err
    assert agent_store.overrides() == {}
    [event] = agent_store.events(kind="override")
    assert event.data["action"] == "refused" and event.source == "technician:ana"


def test_relay_usage_errors_exit_2(
    agent_store: Store, config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["relay", "pump", "on", "--config", str(config_path)]) == 2
    assert "no relay 'pump' on this box; known relays: street-lights, hall-heating" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["relay", "street-lights", "on", "--for", "8d", "--config", str(config_path)])
    assert exit_info.value.code == 2
    assert "longer than the 7 days" in capsys.readouterr().err
    assert agent_store.overrides() == {}


def test_alarms_list_and_ack(
    agent_store: Store, config_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HAMEAU_CONFIG", str(config_path))
    raised = _now() - timedelta(hours=2)
    alarm_id = agent_store.raise_alarm(
        "leak/night-flow", "night-flow", "leak", "water ran all night at 38 L/h",
        {"min_flow_lph": 38.0, "window": "02:00-04:00"}, raised,
    )
    assert main(["alarms"]) == 0
    out = capsys.readouterr().out
    assert f"#{alarm_id}  night-flow from leak, raised " in out and "(2 h ago): water ran all night" in out
    assert "evidence: min_flow_lph=38, window=02:00-04:00" in out
    assert main(["alarms", "ack", "99"]) == 2
    assert f"no alarm #99; latched alarms: #{alarm_id}" in capsys.readouterr().err
    assert main(["alarms", "ack", str(alarm_id)]) == 0
    assert "acknowledged" in capsys.readouterr().out
    keys, _ = agent_store.acks_since(None)
    assert keys == {"leak/night-flow"} and agent_store.latched_alarms() == []
    assert main(["alarms", "ack", str(alarm_id)]) == 0
    assert "already acknowledged by technician:ana" in capsys.readouterr().out
    assert main(["alarms", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["alarms"] == []


def test_config_problems_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[device]\nid = "Bad Id"\n', encoding="utf-8")
    assert main(["status", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: device.id:" in err
    assert main(["alarms", "--config", str(tmp_path / "missing.toml")]) == 2
    assert "no such file" in capsys.readouterr().err


CHILD = textwrap.dedent("""
    import sys, time
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from drivers.reading import reading
    from edge.storage.store import Store

    store = Store(Path(sys.argv[1]), commit_interval_s=3600, monotonic=time.monotonic)
    t0 = datetime(2026, 1, 10, tzinfo=UTC)
    store.raise_alarm("leak/burst", "burst", "leak", "2000 L/h", {"flow_lph": 2000.0}, t0)
    n = 0
    while True:
        for _ in range(50):
            store.add_readings(t0 + timedelta(seconds=n), "water-main", (reading("volume_total_l", "volume", n),))
            n += 1
        store.save_state("meter:water-main", {"total_l": n})
        if n % 500 == 0:
            store.commit()
            print(f"committed {n}", flush=True)
""")


@pytest.fixture
def writer(db_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A child process writing to the store as fast as it can, until killed."""
    db_path.parent.mkdir(parents=True)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    yield child
    if child.poll() is None:
        child.kill()
    child.wait(timeout=10)
    assert child.stdout is not None
    child.stdout.close()


def test_kill_9_while_writing_loses_nothing_committed(writer: subprocess.Popen[str], db_path: Path) -> None:
    assert writer.stdout is not None
    reported = 0
    while reported < 10_000:
        line = writer.stdout.readline()
        assert line, f"the writer died on its own (exit {writer.poll()})"
        reported = int(line.split()[1])
    os.kill(writer.pid, signal.SIGKILL)
    assert writer.wait(timeout=10) == -signal.SIGKILL

    with sqlite3.connect(db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = Store(db_path, monotonic=time.monotonic)
    values = [int(v) for _, v in store.readings("water-main", "volume_total_l")]
    assert len(values) >= reported, "every commit the writer reported is on disk"
    assert len(values) % 500 == 0, "a commit is whole or absent, never half written"
    assert values == list(range(len(values)))
    assert store.load_state("meter:water-main") == {"total_l": len(values)}
    assert [a.key for a in store.latched_alarms()] == ["leak/burst"]
    store.close()
