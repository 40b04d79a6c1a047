"""The digital input driver and its config: which level is active for each pull and contact, on gpiozero's pins."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.digital_input import DigitalInput
from drivers.sim.gpio import SimPinFactory
from drivers.sim.switch import SwitchContact
from edge.config.reader import Problems, Table
from edge.parts.digital_input.config import parse

FIELDS = {"id": "fire-key", "bus": "gpio", "interval_s": 10.0, "driver": "digital_input"}


@pytest.mark.parametrize(
    ("pull", "active_high", "level", "active"),
    [
        ("up", False, False, True),     # normally-open contact to ground: closed reads low
        ("up", False, True, False),
        ("up", True, True, True),       # normally-closed contact to ground: turned, it opens and the pull-up wins
        ("up", True, False, False),
        ("down", True, True, True),     # contact to 3.3 V with a pull-down
        ("down", False, False, True),
        ("floating", True, True, True),
        ("floating", False, False, True),
    ],
)
def test_digital_input_active_level_follows_pull_and_contact(pull: str, active_high: bool, level: bool,
                                                             active: bool) -> None:
    factory = SimPinFactory(lambda: 0.0)
    pin = factory.pin(5)
    pin.drive(level)
    device = DigitalInput(factory, 5, pull=pull, active_high=active_high)
    try:
        (reading,) = device.read()
        assert device.active is active
        assert (reading.name, reading.value, reading.unit) == ("active", 1.0 if active else 0.0, "1")
    finally:
        device.close()


def test_digital_input_released_pin_follows_its_pull() -> None:
    factory = SimPinFactory(lambda: 0.0)
    device = DigitalInput(factory, 6, pull="up")  # normally-open to ground, nothing pressing: high, inactive
    try:
        assert device.active is False
        switch = SwitchContact(factory.pin(6), active_high=False)
        switch.set(True)
        assert device.active is True
        switch.plug(False)  # wire cut: the pull-up wins, the switch reads released
        assert device.active is False
    finally:
        device.close()


def _parse(raw: dict[str, Any]) -> tuple[Any, dict[str, str]]:
    problems = Problems("box.toml")
    t = Table({"pin": 5, **raw}, "sensors[1]", problems)
    config = parse(t, dict(FIELDS))
    t.done()
    return config, {p.key: p.reason for p in problems.items}


def test_digital_input_config_defaults_and_mistakes() -> None:
    up, none = _parse({})
    down, _ = _parse({"pull": "down"})
    nc, _ = _parse({"active_state": "high"})
    assert none == {} and (up.pull, up.active_state, up.active_high) == ("up", "low", False)
    assert (down.active_state, nc.active_high) == ("high", True)
    _, floating = _parse({"pull": "floating"})
    assert "needs active_state" in floating["sensors[1].active_state"]
    _, bad = _parse({"pull": "sideways", "active_state": "on", "pin": 40})
    assert "is not one of" in bad["sensors[1].pull"] and "is not one of" in bad["sensors[1].active_state"]
    assert "out of range" in bad["sensors[1].pin"]
