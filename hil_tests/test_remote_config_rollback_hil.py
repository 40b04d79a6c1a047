"""A box on its link takes configs from the fleet: applies a good one, rolls back one it cannot start, refuses a bad one.

The real run_linked (the link for the process's life, the agent in generations) on simulated buses, a real
Mosquitto, the fleet publishing retained configs as its own user. The trial that cannot start is one whose
hardware cannot be opened (a 1-Wire probe on a bus that is not there), the way a box meets it.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from broker import Broker

from drivers.sim.clock import SimClock
from edge.config.loader import load_config
from edge.link.remote_config import FleetConfigFiles, good_version
from edge.link.runner import run_linked
from edge.runtime.calendar import SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from fleet.protocol import encode, topic

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "village-hall.toml"
DEVICE = "saint-aubin-mairie"
WAIT_S = 40.0
UNPLUGGABLE = "28-0316a2794b99"  # the probe whose bus cannot be opened


def _wait(condition: Callable[[], object], what: str, timeout_s: float = WAIT_S) -> object:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s:g} s: {what}")


def _config_events(db: Path) -> list[dict]:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error:
        return []
    try:
        return [json.loads(row[0]) for row in conn.execute("SELECT data FROM events WHERE kind = 'config' ORDER BY id")]
    except sqlite3.Error:
        return []
    finally:
        conn.close()


@pytest.fixture
def box(broker: Broker, tmp_path: Path):
    """The town hall box on simulated buses, ticking every second, run by run_linked in a thread."""
    password = tmp_path / "password"
    password.write_text(broker.add_device(DEVICE) + "\n", encoding="utf-8")
    password.chmod(0o600)
    db = tmp_path / "state" / "box.db"
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('db_path = "~/.local/state/hameau/village-hall.db"', f'db_path = "{db}"')
    text = text.replace("commit_interval_s = 120\ntick_s = 10", "commit_interval_s = 5\ntick_s = 1")
    text += (f'\n[link]\nbroker = "{broker.url}"\nca_file = "{broker.ca_path}"\npassword_file = "{password}"\n'
             "reconnect_min_s = 0.2\nreconnect_max_s = 1\n")
    path = tmp_path / "box.toml"
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.agent.tick_s == 1 and config.link is not None
    clock = SimClock(epoch=datetime.now(UTC), boot_id="rollback-test-boot")
    opened: list[int] = []

    def open_hardware(c):
        if any(getattr(s, "rom_id", None) == UNPLUGGABLE for s in c.sensors):
            raise FileNotFoundError(2, "No such file or directory", "/sys/bus/w1/devices/w1_bus_master2")
        opened.append(len(c.sensors))
        return open_simulated_hardware(c, clock)

    last = [time.monotonic()]

    def keep_in_step(hardware) -> None:
        now = time.monotonic()
        hardware.parts.advance(now - last[0])
        last[0] = now

    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            run_linked(config, clock, stop, open_hardware, calendar=SimCalendar, before_step=keep_in_step)
        except BaseException as error:  # reported by the test, not lost in the thread
            failure.append(error)

    thread = threading.Thread(target=run, name="box-under-test")
    thread.start()
    fleet = broker.client(*broker.fleet_user_credentials(1))
    tables = tomllib.loads(text)
    tables.pop("device")
    tables.pop("link")
    yield db, fleet, tables, opened, failure
    stop.set()
    thread.join(30)
    assert not thread.is_alive(), "the box did not stop"
    assert failure == []


def _publish_config(fleet, version: int, tables: dict) -> None:
    payload = encode({"v": 1, "device": DEVICE, "version": version, "config": tables})
    assert fleet.publish(topic(DEVICE, "config"), payload, retain=True) in (0, 0x10)


def test_remote_config_hil_applied_then_rolled_back_then_refused(box) -> None:
    db, fleet, tables, opened, _ = box
    _wait(lambda: opened, "the agent starts")
    files = FleetConfigFiles(db.parent)

    later = json.loads(json.dumps(tables))
    later["lighting"][0]["cutoff"]["default"] = "22:00-06:00"
    _publish_config(fleet, 1, later)
    _wait(lambda: good_version(files) == 1, "version 1 becomes the last-known-good")
    _wait(lambda: {"version": 1, "status": "applied", "reasons": []} in _config_events(db), "v1 reported applied")
    assert len(opened) == 2  # the agent was started again, on version 1

    unpluggable = json.loads(json.dumps(later))
    unpluggable["sensors"].append({"id": "attic-temp", "driver": "ds18b20", "bus": "w1", "rom_id": UNPLUGGABLE,
                                   "interval_s": 60})
    _publish_config(fleet, 2, unpluggable)
    report = _wait(lambda: next((e for e in _config_events(db) if e["version"] == 2), None), "v2 reported")
    assert report["status"] == "rolled_back"
    assert "w1_bus_master2" in report["reasons"][0]
    _wait(lambda: len(opened) == 3, "the agent runs again on the last-known-good")
    assert good_version(files) == 1 and not files.trial.exists()

    broken = json.loads(json.dumps(later))
    broken["lighting"][0]["relay"] = "no-such-relay"
    _publish_config(fleet, 3, broken)
    report = _wait(lambda: next((e for e in _config_events(db) if e["version"] == 3), None), "v3 reported")
    assert report["status"] == "rejected"
    assert any("fleet config v3" in r and "relay" in r for r in report["reasons"])
    time.sleep(2.0)  # a refused version starts nothing
    assert len(opened) == 3 and good_version(files) == 1
