"""Config from the fleet: checked in full, tried, kept as last-known-good, rolled back, never tried twice."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from edge.link.remote_config import (
    APPLIED,
    REJECTED,
    ROLLED_BACK,
    FleetConfigFiles,
    offer,
    promote,
    roll_back,
    startup,
    wanted,
)
from fleet.protocol import Config, ProtocolError, encode, parse_config

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "village-hall.toml"


@pytest.fixture
def box(tmp_path: Path) -> tuple[Path, FleetConfigFiles, dict]:
    """The town hall's config file as the box holds it, and the tables the fleet would send."""
    local = tmp_path / "box.toml"
    local.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    tables = tomllib.loads(local.read_text(encoding="utf-8"))
    tables.pop("device")
    return local, FleetConfigFiles(tmp_path / "state"), tables


def _with_cutoff(tables: dict, window: str) -> dict:
    changed = json.loads(json.dumps(tables))
    changed["lighting"][0]["cutoff"]["default"] = window
    return changed


def test_remote_config_valid_version_is_tried_then_kept_as_good(box):
    local, files, tables = box
    message = Config("hall", 7, _with_cutoff(tables, "22:00-06:00"))
    assert wanted(files, message)
    assert offer(files, local, message) is None
    config, reports, trial = startup(files, local)
    assert trial and reports == []
    window = config.lighting[0].cutoff.weekly[0]
    assert (window.start_min, window.end_min) == (22 * 60, 6 * 60)
    assert config.device.id == tomllib.loads(EXAMPLE.read_text())["device"]["id"]  # the box's own identity
    report = promote(files)
    assert report is not None and (report.version, report.status) == (7, APPLIED)
    config, reports, trial = startup(files, local)
    assert not trial and reports == []
    assert config.lighting[0].cutoff.weekly[0].start_min == 22 * 60
    assert not wanted(files, message)  # the version running is no news
    assert not wanted(files, Config("hall", 6, tables))  # nor an older one
    assert wanted(files, Config("hall", 8, tables))


def test_remote_config_invalid_version_is_rejected_with_every_reason_and_never_tried(box):
    local, files, tables = box
    broken = json.loads(json.dumps(tables))
    broken["sensors"][0]["bus"] = "no-such-bus"
    broken["lighting"][0]["off_above_lx"] = "bright"
    report = offer(files, local, Config("hall", 3, broken))
    assert report is not None and (report.version, report.status) == (3, REJECTED)
    text = "\n".join(report.reasons)
    assert "fleet config v3" in text
    assert "sensors[0].bus" in text or "sensors[1].bus" in text
    assert "off_above_lx" in text
    assert len(report.reasons) >= 2
    assert not files.trial.exists()
    assert not wanted(files, Config("hall", 3, tables))  # a retained refused version is not tried again
    config, reports, trial = startup(files, local)
    assert not trial and reports == []
    assert config.lighting[0].cutoff.weekly[0].start_min == 23 * 60  # the local file's 23:00


def test_remote_config_trial_that_killed_the_agent_is_rolled_back_to_last_known_good(box):
    local, files, tables = box
    offer(files, local, Config("hall", 1, _with_cutoff(tables, "22:00-06:00")))
    startup(files, local)
    promote(files)
    offer(files, local, Config("hall", 2, _with_cutoff(tables, "01:00-04:00")))
    config, _, trial = startup(files, local)
    assert trial and config.lighting[0].cutoff.weekly[0].start_min == 60
    # The agent dies with version 2 before it could promote it: the next start rolls back to version 1.
    config, reports, trial = startup(files, local)
    assert not trial
    assert [(r.version, r.status) for r in reports] == [(2, ROLLED_BACK)]
    assert config.lighting[0].cutoff.weekly[0].start_min == 22 * 60
    assert not wanted(files, Config("hall", 2, tables))


def test_remote_config_trial_that_cannot_start_is_rolled_back_with_the_reason(box):
    local, files, tables = box
    offer(files, local, Config("hall", 4, tables))
    startup(files, local)
    report = roll_back(files, "relay street-lights: GPIO24 busy")
    assert report is not None and (report.version, report.status, report.reasons) == (
        4, ROLLED_BACK, ("relay street-lights: GPIO24 busy",)
    )
    config, reports, trial = startup(files, local)
    assert not trial and reports == [] and config.lighting[0].cutoff.weekly[0].start_min == 23 * 60


def test_remote_config_cannot_carry_the_local_tables():
    for table in ("device", "link"):
        payload = encode({"v": 1, "device": "hall", "version": 2, "config": {table: {"id": "other"}}})
        with pytest.raises(ProtocolError) as error:
            parse_config("hall", payload)
        assert table in str(error.value)


def test_remote_config_half_written_trial_is_ignored(box):
    local, files, _ = box
    files.directory.mkdir(parents=True)
    files.trial.write_text('{"version": 5, "config": {"bus', encoding="utf-8")
    config, reports, trial = startup(files, local)
    assert not trial and reports == [] and not files.trial.exists()
    assert config.lighting[0].cutoff.weekly[0].start_min == 23 * 60
