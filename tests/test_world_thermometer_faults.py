"""World faults of thermometers reading wrong but moving values: "offset" and "drift"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from edge.config.loader import load_config
from edge.config.reader import ConfigError
from edge.simulation.world_file import load_world

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALL_BOX = load_config(EXAMPLES / "village-hall.toml")
ZONE = """
[site]
start = "2026-01-01T00:00"
duration = "7d"

[[zones]]
id = "hall"
thermometers = ["hall-temp", "hall-climate"]
loss_w_per_k = 90.0
capacity_kj_per_k = 12600.0
"""


def _fault(kind: str, extra: str, sensor: str = "hall-temp") -> str:
    return ZONE + f'[[faults]]\nsensor = "{sensor}"\nkind = "{kind}"\nstart = "2026-01-02T00:00"\nduration = "2d"\n' + extra


def _load(tmp_path: Path, text: str):
    path = tmp_path / "world.toml"
    path.write_text(text, encoding="utf-8")
    return load_world(path, HALL_BOX.device, HALL_BOX)


def _problems(tmp_path: Path, text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return {p.key: p.reason for p in info.value.problems}


def test_world_offset_and_drift_faults_are_read_and_give_the_error_they_declare(tmp_path: Path) -> None:
    (offset,) = _load(tmp_path, _fault("offset", "offset_c = -2.5\n")).faults
    (drift,) = _load(tmp_path, _fault("drift", "drift_c_per_day = 1.5\n")).faults
    assert (offset.kind, offset.offset_c, offset.drift_c_per_day) == ("offset", -2.5, 0.0)
    assert (drift.kind, drift.offset_c, drift.drift_c_per_day) == ("drift", 0.0, 1.5)
    at = (drift.start + timedelta(hours=36)).timestamp()
    assert offset.error_c(at) == -2.5
    assert drift.error_c(at) == pytest.approx(1.5 * 1.5)  # 1.5 °C a day for a day and a half


def test_world_offset_fault_without_its_value_or_with_the_other_ones_is_named(tmp_path: Path) -> None:
    assert "faults[0].offset_c" in _problems(tmp_path, _fault("offset", ""))
    problems = _problems(tmp_path, _fault("offset", "offset_c = 1.0\ndrift_c_per_day = 1.0\n"))
    assert list(problems) == ["faults[0].drift_c_per_day"]  # a key an offset fault does not have


def test_world_offset_fault_on_a_sensor_that_is_not_a_thermometer_is_named(tmp_path: Path) -> None:
    problems = _problems(tmp_path, _fault("offset", "offset_c = 1.0\n", sensor="lux-roof"))
    assert "not a thermometer" in problems["faults[0].kind"]
