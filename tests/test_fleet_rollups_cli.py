"""`hameau-fleet report ...`, `rollups run`, `retention run`, and the settings they read."""

from __future__ import annotations

import json
from datetime import time
from pathlib import Path

import pytest

from fleet.cli import main
from fleet.errors import FleetConfigError
from fleet.settings import load_settings, parse_settings
from fleet.store import open_store
from tests.test_fleet_rollups_store import D1, D, batches, open_fleet, scenario


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A store holding the scenario (not rolled up yet)."""
    db = f"sqlite:///{tmp_path / 'fleet.db'}"
    store = open_fleet(db)
    try:
        for lane, items in scenario().items():
            for batch in batches(lane, items, size=len(items)):
                store.store_batch(batch, batch.sent_at)
    finally:
        store.close()
    return db


def test_rollups_cli_reports_after_a_run(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rollups", "run", "--db", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["left"] == 0
    assert main(["report", "water-nights", "--db", url, "--device", "box-a", "--json"]) == 0
    nights = json.loads(capsys.readouterr().out)
    assert [(n["night"], n["min_flow_lph"]) for n in nights] == [(D.isoformat(), pytest.approx(12.0))]
    assert main(["report", "lighting", "--db", url, "--device", "box-a", "--from", D1.isoformat()]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["device", "circuit", "day", "lit_h", "dark_h", "switches"]
    assert lines[1].split()[:4] == ["box-a", "street-main", D1.isoformat(), "2.500"]
    assert main(["report", "energy", "--db", url, "--device", "box-a", "--total", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"day": D.isoformat(), "energy_kwh": pytest.approx(12.5)}]


def test_rollups_cli_backfill_marks_records_stored_before(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rollups", "run", "--db", url]) == 0
    store = open_store(url)
    try:
        store.db.execute("DELETE FROM water_nights")  # as in a store upgraded from before the roll-ups
    finally:
        store.close()
    capsys.readouterr()
    assert main(["rollups", "backfill", "--db", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"marked": 2}  # records from 08:00 on D to 08:00 on D1
    assert main(["rollups", "run", "--db", url]) == 0
    capsys.readouterr()
    assert main(["report", "water-nights", "--db", url, "--device", "box-a", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_rollups_cli_retention_run(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rollups", "run", "--db", url]) == 0
    capsys.readouterr()
    assert main(["retention", "run", "--db", url, "--keep-days", "7", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["deleted"] == 97 + 3


@pytest.mark.parametrize(("argv", "says"), [
    (["report", "energy", "--from", "14/01/2026", "--device", "x"], "--from '14/01/2026': expected YYYY-MM-DD"),
    (["report", "energy"], "--device D"),
    (["report", "lighting", "--group", "nowhere"], "--group 'nowhere'"),
    (["retention", "run", "--keep-days", "3"], "--keep-days 3: must be within 7..36500"),
])
def test_rollups_cli_errors_are_one_line(
    url: str, argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--db", url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hameau-fleet ") and says in err


def test_rollups_settings_errors_name_file_key_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text('[retention]\nraw_keep_days = 2\n')
    with pytest.raises(FleetConfigError, match=r"fleet\.toml: \[retention\] raw_keep_days: must be within 7\.\.36500"):
        load_settings(path)
    cases = {
        "[rollups]\ntimezone = 'Mars/Olympus'\n": "[rollups] timezone: not a known time zone",
        "[rollups]\nnight_start = '1h'\n": "[rollups] night_start: must be a local time",
        "[rollups]\nnight_end = '01:00'\n": "[rollups] night_end: the night window is empty",
        "[rollups]\nbucket_min = 7\n": "[rollups] bucket_min: the night window (240 min) is not a whole number",
        "[retention]\nchunk_rows = nan\n": "[retention] chunk_rows: must be an integer",
        "[retention]\nkeep = 3\n": "[retention] keep: unknown key",
        "[retention]\nenabled = 'yes'\n": "[retention] enabled: must be true or false",
    }
    for text, says in cases.items():
        path.write_text(text)
        with pytest.raises(FleetConfigError, match=None) as error:
            load_settings(path)
        assert str(error.value).startswith(f"{path}: ") and says in str(error.value), text


def test_rollups_settings_defaults_and_values() -> None:
    default = parse_settings({}, "x")
    assert default.rollups.timezone == "Europe/Paris" and default.retention.raw_keep_days == 400
    assert (default.rollups.night_start, default.rollups.night_end) == (time(1, 0), time(5, 0))
    given = parse_settings({"rollups": {"night_start": "22:00", "night_end": "06:00", "timezone": "America/Cayenne"},
                            "retention": {"raw_keep_days": 30, "enabled": False}}, "x")
    assert given.rollups.night_start == time(22, 0) and given.rollups.zone.key == "America/Cayenne"
    assert given.retention.raw_keep_days == 30 and not given.retention.enabled
    assert load_settings(None, env={}) == default
