"""The valve-policy keys of [[leak]]: defaults by the meter's role, ranges, the key switch reference."""

from __future__ import annotations

from typing import Any

from edge.config.model import DeviceConfig
from edge.config.reader import Problems, Table
from edge.controllers.fields import ConfigContext
from edge.controllers.leak.config import LeakConfig, parse_leak
from edge.controllers.leak.policy_config import ValvePolicyConfig
from edge.parts.digital_input.config import DigitalInputConfig
from edge.parts.pulse_meter.config import PulseMeterConfig
from edge.parts.relay.config import RelayConfig

CTX = ConfigContext(
    device=DeviceConfig("box", "Box", 45.187, 5.726, "Europe/Paris"),
    sensors={
        "water-main": PulseMeterConfig("water-main", "gpio", 60.0, 17, litres_per_pulse=10.0),
        "fire-key": DigitalInputConfig("fire-key", "gpio", 10.0, 5),
    },
    relays={"main-valve": RelayConfig("main-valve", "gpio", 22)},
)
WATCH = {"id": "leak-main", "meter": "water-main", "burst_lph": 12000.0, "valve_relay": "main-valve"}


def _parse(raw: dict[str, Any]) -> tuple[LeakConfig | None, dict[str, str]]:
    problems = Problems("box.toml")
    config = parse_leak(Table({**WATCH, **raw}, "leak[0]", problems), CTX)
    return config, {p.key: p.reason for p in problems.items}


def test_leak_policy_config_defaults_alarm_only_on_an_inlet_and_close_on_a_building() -> None:
    inlet, _ = _parse({"role": "inlet"})
    building, _ = _parse({"role": "building"})
    unsaid, _ = _parse({})
    assert inlet is not None and building is not None and unsaid is not None
    assert inlet.policy == ValvePolicyConfig(valve_policy="alarm_only")
    assert building.policy == unsaid.policy == ValvePolicyConfig(valve_policy="close")
    assert (building.policy.reopen_after_min, building.policy.hydrant_hold_min) == (60, 30)


def test_leak_policy_config_reads_every_key() -> None:
    config, problems = _parse({"role": "inlet", "valve_policy": "close", "reopen_after_min": 0,
                               "hydrant_input": "fire-key", "hydrant_hold_min": 45})
    assert problems == {}
    assert config is not None and config.policy == ValvePolicyConfig("close", 0, "fire-key", 45)


def test_leak_policy_config_mistakes_are_named_by_key() -> None:
    config, problems = _parse({"valve_policy": "shut", "reopen_after_min": 7 * 24 * 60 + 1,
                               "hydrant_input": "water-main", "hydrant_hold_min": -1})
    assert config is None
    assert "is not one of 'close', 'alarm_only'" in problems["leak[0].valve_policy"]
    assert "out of range" in problems["leak[0].reopen_after_min"]
    assert "is not a digital input" in problems["leak[0].hydrant_input"]
    assert "digital_input" in problems["leak[0].hydrant_input"]
    assert "out of range" in problems["leak[0].hydrant_hold_min"]
    _, missing = _parse({"hydrant_input": "fire-hose"})
    assert "no sensor 'fire-hose'" in missing["leak[0].hydrant_input"]
    problems_without_valve = Problems("box.toml")
    raw = {k: v for k, v in WATCH.items() if k != "valve_relay"} | {"hydrant_input": "fire-key"}
    assert parse_leak(Table(raw, "leak[0]", problems_without_valve), CTX) is None
    assert "set valve_relay too" in {p.key: p.reason for p in problems_without_valve.items}["leak[0].hydrant_input"]
