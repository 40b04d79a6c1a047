"""World files' [[actions]] and [[hydrants]]: read against the box, every mistake named by key and reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.sim.action_spec import ActionSpec, HydrantSpec
from edge.config.box import BoxConfig
from edge.config.loader import load_config
from edge.config.reader import ConfigError
from edge.simulation.world_file import load_world

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
INLET_BOX = load_config(EXAMPLES / "village-inlet.toml")
WORLD = """
[site]
start = "2026-11-08T00:00"
duration = "1d"

[water]
valve = "inlet-valve"

[[water.meters]]
sensor = "inlet-meter"
"""


def _load(tmp_path: Path, text: str, box: BoxConfig = INLET_BOX):
    path = tmp_path / "world.toml"
    path.write_text(WORLD + text, encoding="utf-8")
    return load_world(path, box.device, box)


def _problems(tmp_path: Path, text: str) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, text)
    return {p.key: p.reason for p in info.value.problems}


def test_world_actions_every_kind_and_a_hydrant(tmp_path: Path) -> None:
    spec = _load(tmp_path, """
[[actions]]
at = "2026-11-08T09:00"
kind = "ack"
watch = "leak-inlet"
alarm = "burst"

[[actions]]
at = "2026-11-08T04:00"
kind = "hydrant"
watch = "inlet-valve"
duration = "3h"
reason = "fire at the farm"

[[actions]]
at = "2026-11-08T05:00"
kind = "override"
relay = "cabinet-heater"
state = "auto"

[[actions]]
at = "2026-11-08T03:30"
kind = "confirm"
watch = "leak-inlet"

[[hydrants]]
meter = "inlet-meter"
start = "2026-11-08T03:00"
duration = "40m"
rate_lph = 6000.0
""")
    at = [a.at for a in spec.on_site.actions]
    assert at == sorted(at) and [a.kind for a in spec.on_site.actions] == ["confirm", "hydrant", "override", "ack"]
    paris_3h = datetime(2026, 11, 8, 2, 0, tzinfo=UTC)  # 03:00 in Paris (UTC+1 in November)
    assert spec.on_site.actions[1] == ActionSpec(paris_3h + timedelta(hours=1), "hydrant", "inlet-valve", "on",
                                                 timedelta(hours=3), None, "fire at the farm")
    assert spec.on_site.actions[2].duration is None and spec.on_site.actions[3].alarm == "burst"
    assert spec.on_site.hydrants == (HydrantSpec("inlet-meter", paris_3h, paris_3h + timedelta(minutes=40),
                                                 6000.0, None),)


def test_world_actions_mistakes_are_named_by_key(tmp_path: Path) -> None:
    problems = _problems(tmp_path, """
[[actions]]
at = "2026-11-08T09:00"
kind = "repair"

[[actions]]
at = "2026-11-08T09:00"
kind = "hydrant"
watch = "cabinet"
duration = "30s"

[[actions]]
at = "tomorrow"
kind = "override"
relay = "street-lights"
state = "on"

[[actions]]
at = "2026-11-08T09:00"
kind = "confirm"
watch = "leak-inlet"
duration = "1h"

[[hydrants]]
meter = "hall-meter"
start = "2026-11-08T03:00"
duration = "40m"
rate_lph = 6000.0
key_switch = "cabinet-temp"
""")
    assert "is not one of 'ack', 'override', 'hydrant', 'confirm'" in problems["actions[0].kind"]
    assert "no leak watch with a valve 'cabinet'" in problems["actions[1].watch"]
    assert "at least 60 s and at most 7 days" in problems["actions[1].duration"]
    assert "not a date and time" in problems["actions[2].at"]
    assert "no relay 'street-lights'" in problems["actions[2].relay"]
    assert "missing" in problems["actions[2].duration"]
    assert "unknown key" in problems["actions[3].duration"]
    assert "no [[water.meters]] entry for 'hall-meter'" in problems["hydrants[0].meter"]
    assert "is not a digital input (digital_input)" in problems["hydrants[0].key_switch"]
