"""Legitimate water use by date ([[water.uses]]) and running cisterns ([[water.leaks]] period_min) in world files:
read as written, mistakes named, and the water model's litres as the scenario says."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drivers.sim.water import CISTERN_FILL_LPH, MeterModel
from drivers.sim.world_spec import LeakSpec, MeterSpec, UseSpec
from edge.config.loader import load_config
from edge.config.reader import ConfigError
from edge.simulation.world_file import load_world

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALL_BOX = load_config(EXAMPLES / "village-hall.toml")
PARIS = ZoneInfo("Europe/Paris")
WORLD = """
[site]
start = "2026-01-01T00:00"
duration = "7d"

[[water.meters]]
sensor = "water-main"
profile = "building"
day_lph = 40.0
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "world.toml"
    path.write_text(text, encoding="utf-8")
    return load_world(path, HALL_BOX.device, HALL_BOX)


def _problems(tmp_path: Path, text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return {p.key: p.reason for p in info.value.problems}


def test_leak_world_uses_and_running_cistern_are_read_as_written(tmp_path: Path) -> None:
    spec = _load(tmp_path, WORLD + (
        '[[water.uses]]\nmeter = "water-main"\nkind = "holiday"\nstart = "2026-01-02T18:00"\nduration = "2d"\n'
        '[[water.uses]]\nmeter = "water-main"\nkind = "tank_fill"\nstart = "2026-01-05T01:00"\nend = "2026-01-05T03:00"\n'
        'rate_lph = 400.0\n'
        '[[water.leaks]]\nmeter = "water-main"\nstart = "2026-01-01T00:00"\nrate_lph = 3.0\nperiod_min = 70\n'))
    assert spec.water.uses == (
        UseSpec("water-main", "holiday", datetime(2026, 1, 2, 18, tzinfo=PARIS), datetime(2026, 1, 4, 18, tzinfo=PARIS)),
        UseSpec("water-main", "tank_fill", datetime(2026, 1, 5, 1, tzinfo=PARIS), datetime(2026, 1, 5, 3, tzinfo=PARIS),
                400.0),
    )
    assert spec.water.leaks[0].period_min == 70.0


def test_leak_world_use_mistakes_are_named(tmp_path: Path) -> None:
    use = '[[water.uses]]\nmeter = "{}"\nkind = "{}"\nstart = "2026-01-02T18:00"\nduration = "2d"\n{}'
    assert "no [[water.meters]] entry" in _problems(tmp_path, WORLD + use.format("inlet", "fete", "rate_lph = 1.0\n"))[
        "water.uses[0].meter"]
    assert "is not one of" in _problems(tmp_path, WORLD + use.format("water-main", "party", ""))["water.uses[0].kind"]
    assert "no rate" in _problems(tmp_path, WORLD + use.format("water-main", "holiday", "rate_lph = 5.0\n"))[
        "water.uses[0].rate_lph"]
    assert "missing" in _problems(tmp_path, WORLD + use.format("water-main", "fete", ""))["water.uses[0].rate_lph"]
    cistern = '[[water.leaks]]\nmeter = "water-main"\nstart = "2026-01-01T00:00"\nrate_lph = 400.0\nperiod_min = 70\n'
    assert "fills at 360 L/h" in _problems(tmp_path, WORLD + cistern)["water.leaks[0].rate_lph"]


def test_leak_world_running_cistern_lets_in_its_fills_and_nothing_between() -> None:
    # 3 L/h in fills every 70 min: 3.5 L each, lasting 3.5 / 360 h = 35 s; a day holds 1440 / 70 periods.
    start = datetime(2026, 1, 5, tzinfo=PARIS)
    model = MeterModel(MeterSpec("water-main", "building", day_lph=0.0, noise_pct=0.0), 0, 2000,
                       (LeakSpec("water-main", start, 3.0, None, 70.0),))
    t0 = start.timestamp()
    for minute in range(1440):
        model.step(t0 + 60.0 * minute, t0 + 3600.0 + 60.0 * minute, False, 60.0)
    assert model.leak_volume_l == pytest.approx(3.5 * (1440 // 70) + 3.5 * min(1.0, (1440 % 70) * 60 / 35))
    fill_s = 3.5 / CISTERN_FILL_LPH * 3600.0
    assert model.leak_lph(t0 + fill_s / 2) == CISTERN_FILL_LPH and model.leak_lph(t0 + fill_s + 1.0) == 0.0
    assert model.leak_lph(t0 + 70 * 60.0 + 1.0) == CISTERN_FILL_LPH


def test_leak_world_holiday_stops_use_and_fete_adds_its_rate() -> None:
    start = datetime(2026, 1, 5, 10, tzinfo=PARIS)  # a Monday morning: the building is in use
    spec = MeterSpec("water-main", "building", day_lph=40.0, noise_pct=0.0, refills_per_hour=2.0)
    uses = (UseSpec("water-main", "holiday", start, start + timedelta(hours=1)),
            UseSpec("water-main", "fete", start + timedelta(hours=2), start + timedelta(hours=3), 500.0))
    plain = MeterModel(spec, 0, 2000)
    model = MeterModel(spec, 0, 2000, (), (), uses)
    t0, offset = start.timestamp(), 3600.0
    assert plain.flow_lph(t0, t0 + offset, False) > 0.0
    assert model.flow_lph(t0, t0 + offset, False) == 0.0
    later = t0 + 2.5 * 3600.0
    assert model.flow_lph(later, later + offset, False) == pytest.approx(plain.flow_lph(later, later + offset, False) + 500.0)
    model.step(later, later + offset, False, 60.0)
    assert model.extra_use_volume_l == pytest.approx(500.0 / 60.0)
