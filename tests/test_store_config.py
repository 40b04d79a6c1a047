"""The store's config keys and the world file's storage faults (defaults, mistakes named), and how the
technician's status shows a store fault."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.clock import SimClock
from drivers.sim.world_spec import StorageFaultSpec
from edge.config.loader import load_config
from edge.config.reader import ConfigError
from edge.simulation.world_file import load_world
from edge.storage.store import Store
from edge.technician.render import render_status
from edge.technician.reports import status_report

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
BOX = """
[device]
id = "ecole-01"
latitude = 45.2
longitude = 5.7
timezone = "Europe/Paris"

[buses.gpio]
type = "gpio"

[[sensors]]
id = "water"
driver = "pulse_meter"
bus = "gpio"
pin = 17
litres_per_pulse = 1.0
"""


def _config(tmp_path: Path, agent: str):
    path = tmp_path / "box.toml"
    path.write_text(BOX + f'\n[agent]\ndb_path = "{tmp_path / "hameau.db"}"\n{agent}', encoding="utf-8")
    return load_config(path)


def _problems(tmp_path: Path, agent: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        _config(tmp_path, agent)
    return {p.key: p.reason for p in info.value.problems}


def test_store_config_defaults_follow_the_retention_and_budget_policy(tmp_path: Path) -> None:
    agent = _config(tmp_path, "").agent
    assert (agent.keep_readings_days, agent.keep_hourly_days, agent.db_budget_mb) == (30.0, 365.0, 1024.0)
    assert (agent.buffer_max_readings, agent.buffer_max_events) == (50_000, 5_000)
    assert (agent.store_retry_min_s, agent.store_retry_max_s, agent.safety_copy_interval_s) == (10.0, 300.0, 3600.0)


def test_store_config_keys_are_read_and_checked(tmp_path: Path) -> None:
    agent = _config(tmp_path, "keep_readings_days = 7\nkeep_hourly_days = 90\ndb_budget_mb = 64\n"
                              "buffer_max_readings = 1000\nstore_retry_min_s = 5\nstore_retry_max_s = 60\n").agent
    assert (agent.keep_readings_days, agent.keep_hourly_days, agent.db_budget_mb) == (7.0, 90.0, 64.0)
    assert (agent.buffer_max_readings, agent.store_retry_min_s, agent.store_retry_max_s) == (1000, 5.0, 60.0)
    problems = _problems(tmp_path, "store_retry_min_s = 60\nstore_retry_max_s = 5\nkeep_readings_days = 40\n"
                                   "keep_hourly_days = 10\nbuffer_max_readings = 0\ndb_budget_mb = 0.5\n")
    assert problems["agent.store_retry_max_s"] == "must be at least store_retry_min_s (60 s)"
    assert problems["agent.keep_hourly_days"] == "must be at least keep_readings_days (40 days)"
    assert "out of range" in problems["agent.buffer_max_readings"]
    assert "out of range" in problems["agent.db_budget_mb"]


WORLD = """
[site]
start = "2026-01-12T08:00"
duration = "1d"
"""


def _world(tmp_path: Path, text: str):
    box = load_config(EXAMPLES / "village-inlet.toml")
    path = tmp_path / "world.toml"
    path.write_text(WORLD + text, encoding="utf-8")
    return load_world(path, box.device, box)


def test_world_storage_faults_are_spells_or_instants_in_local_time(tmp_path: Path) -> None:
    spec = _world(tmp_path, '[[storage_faults]]\nkind = "disk_full"\nstart = "2026-01-12T13:00"\nduration = "7h"\n'
                            '[[storage_faults]]\nkind = "lost"\nstart = "2026-01-12T18:05"\n')
    assert spec.storage_faults == (
        StorageFaultSpec("disk_full", datetime(2026, 1, 12, 12, 0, tzinfo=UTC), datetime(2026, 1, 12, 19, 0, tzinfo=UTC)),
        StorageFaultSpec("lost", datetime(2026, 1, 12, 17, 5, tzinfo=UTC), None),
    )


@pytest.mark.parametrize(
    ("fault", "key", "words"),
    [
        ('kind = "disk_full"\nstart = "2026-01-12T13:00"\n', "storage_faults[0].end", "missing"),
        ('kind = "corrupt"\nstart = "2026-01-12T13:00"\nduration = "1h"\n', "storage_faults[0].duration",
         "happens at an instant"),
        ('kind = "flooded"\nstart = "2026-01-12T13:00"\n', "storage_faults[0].kind", "flooded"),
    ],
)
def test_world_storage_fault_mistakes_are_named(tmp_path: Path, fault: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _world(tmp_path, "[[storage_faults]]\n" + fault)
    assert any(p.key == key and words in p.reason for p in info.value.problems), info.value.problems


def test_status_shows_a_box_running_without_its_database_from_its_snapshot_in_ram(tmp_path: Path) -> None:
    now = datetime(2026, 1, 12, 14, 0, tzinfo=UTC)
    config = _config(tmp_path, "")
    with Store(config.agent.db_path, monotonic=SimClock().monotonic) as store:
        store.save_status({"at": (now - timedelta(hours=1)).isoformat(), "agent": {"pid": 1}})  # before the fault
        store.commit()
        live = {"at": (now - timedelta(seconds=30)).isoformat(), "agent": {"pid": 2}, "store": {
            "ok": False, "buffered": {"readings": 1234, "events": 56}, "dropped": {"readings": 0, "events": 0},
            "moved_aside": [], "fault": {"class": "full", "cause": "database or disk is full", "while": "committing",
                                         "since": (now - timedelta(hours=1)).isoformat(), "next_retry_s": 120.0}}}
        report = status_report(store, config, now, live=live)
    assert report["agent"]["running"] is True and report["agent"]["pid"] == 2
    text = render_status(report)
    assert "STORE FAULT: the agent runs without its database since" in text
    assert "database or disk is full (full); 1234 readings and 56 events wait in memory; retry in 120.0 s" in text
    broken = status_report(None, config, now, live=live, db_error="file is not a database")
    assert "CANNOT BE OPENED (file is not a database)" in render_status(broken)
