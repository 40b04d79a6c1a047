"""The world's light on one lux sensor: [[light.shade]] (grime, a nest) and [[light.lamps]] (the circuit's own)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.sim.sensor_light import SensorLight
from drivers.sim.world_spec import LampLightSpec, LightSpec, ShadeSpec
from edge.config.loader import load_config
from edge.config.reader import ConfigError
from edge.simulation.world_file import load_world

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALL_BOX = load_config(EXAMPLES / "village-hall.toml")
SITE = '[site]\nstart = "2026-01-01T00:00"\nduration = "7d"\n'


def _load(tmp_path: Path, text: str):
    path = tmp_path / "world.toml"
    path.write_text(SITE + text, encoding="utf-8")
    return load_world(path, HALL_BOX.device, HALL_BOX)


def test_lighting_world_reads_shade_and_lamps(tmp_path: Path) -> None:
    spec = _load(tmp_path, '[[light.shade]]\nsensor = "lux-roof"\nstart = "2026-01-02T10:00"\nduration = "2h"\n'
                           'factor_pct = 5\n[[light.lamps]]\nsensor = "lux-roof"\nrelay = "street-lights"\nlux = 40\n')
    (shade,) = spec.light.shades
    assert (shade.sensor, shade.factor_pct) == ("lux-roof", 5.0)
    assert (shade.end - shade.start).total_seconds() == 7200
    assert spec.light.lamps == (LampLightSpec("lux-roof", "street-lights", 40.0),)


@pytest.mark.parametrize(("text", "key", "words"), [
    ('[[light.shade]]\nsensor = "hall-temp"\nstart = "2026-01-02T10:00"\nduration = "2h"\nfactor_pct = 5\n',
     "light.shade[0].sensor", "is not a lux sensor"),
    ('[[light.shade]]\nsensor = "lux-roof"\nstart = "2026-01-02T10:00"\nduration = "2h"\n',
     "light.shade[0].factor_pct", "missing"),
    ('[[light.shade]]\nsensor = "lux-roof"\nstart = "2026-01-02T10:00"\nduration = "2h"\nfactor_pct = 120\n',
     "light.shade[0].factor_pct", "out of range"),
    ('[[light.shade]]\nsensor = "lux-roof"\nstart = "2026-01-02T10:00"\nfactor_pct = 5\n',
     "light.shade[0].end", "missing"),
    ('[light]\nsensors = []\n[[light.lamps]]\nsensor = "lux-roof"\nrelay = "street-lights"\nlux = 40\n',
     "light.lamps[0].sensor", "is not one of the [light] sensors"),
    ('[[light.lamps]]\nsensor = "lux-roof"\nrelay = "porch"\nlux = 40\n', "light.lamps[0].relay", "no relay 'porch'"),
    ('[[light.lamps]]\nsensor = "lux-roof"\nrelay = "street-lights"\nlux = nan\n', "light.lamps[0].lux", "finite"),
])
def test_lighting_world_mistakes_are_named(tmp_path: Path, text: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    problems = [(p.key, p.reason) for p in info.value.problems]
    assert any(k == key and words in reason for k, reason in problems), problems


def test_lighting_world_sensor_light_shades_multiply_and_lamps_add_when_powered() -> None:
    def at(hour: int) -> float:
        return datetime(2026, 1, 2, hour, tzinfo=UTC).timestamp()

    spec = LightSpec(
        ("lux-roof", "lux-yard"),
        shades=(ShadeSpec("lux-roof", datetime(2026, 1, 2, 10, tzinfo=UTC), datetime(2026, 1, 2, 12, tzinfo=UTC), 10.0),
                ShadeSpec("lux-roof", datetime(2026, 1, 2, 11, tzinfo=UTC), datetime(2026, 1, 2, 13, tzinfo=UTC), 50.0)),
        lamps=(LampLightSpec("lux-roof", "street-lights", 40.0),),
    )
    light = SensorLight(spec)
    lamps = {"street-lights": True}
    assert light.lux("lux-roof", 1000.0, at(9), True, lamps.__getitem__) == 1040.0
    assert light.lux("lux-roof", 1000.0, at(10), False, lamps.__getitem__) == pytest.approx(100.0)
    assert light.lux("lux-roof", 1000.0, at(11), False, lamps.__getitem__) == pytest.approx(50.0)  # 10 % of 50 %
    assert light.lux("lux-roof", 1000.0, at(12), False, lamps.__getitem__) == pytest.approx(500.0)
    assert light.lux("lux-roof", 1000.0, at(13), False, lamps.__getitem__) == 1000.0
    assert light.lux("lux-yard", 1000.0, at(11), True, lamps.__getitem__) == 1000.0
    lamps["street-lights"] = False
    assert light.lux("lux-roof", 0.1, at(20), True, lamps.__getitem__) == 0.1
