"""Adding a part is its config, driver and twin plus one registry entry: the whole box then knows it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from drivers.sim.clock import SimClock
from edge.config.loader import ConfigError, parse_config
from edge.parts.registry import REGISTRY
from edge.runtime.agent import Agent
from edge.runtime.calendar import SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from edge.simulation.world_file import parse_world
from edge.storage.store import Store
from edge.technician.probe import format_probe, run_probe
from tmp117_part import PART as TMP117

PARTS = REGISTRY.extended([TMP117])
#: TMP117 resolution (datasheet: 7.8125 m°C per LSB).
LSB_C = 0.0078125
BOX = """
[device]
id = "lavoir"
latitude = 45.19
longitude = 5.73
timezone = "Europe/Paris"

[buses.i2c1]
type = "i2c"
number = 1

[buses.gpio]
type = "gpio"

[[sensors]]
id = "hall-tmp"
driver = "tmp117"
bus = "i2c1"
address = 0x49
interval_s = 30

[[actuators]]
id = "hall-heating"
bus = "gpio"
pin = 24

[[heating]]
id = "hall"
relay = "hall-heating"
thermometer = "hall-tmp"

[simulation]
enabled = true
temperature_c = 4.3
"""
WORLD = """
[site]
start = "2026-01-12T08:00"
duration = "1d"

[[zones]]
id = "hall"
thermometers = ["hall-tmp"]
heater = "hall-heating"
heater_w = 3000.0
loss_w_per_k = 90.0
capacity_kj_per_k = 12600.0
"""


def test_parts_registry_unknown_part_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(BOX, tmp_path / "box.toml")
    assert "sensors[0].driver: unknown driver 'tmp117'" in str(caught.value)


def test_parts_registry_new_part_is_configured_probed_and_heated(tmp_path: Path) -> None:
    config = parse_config(BOX, tmp_path / "box.toml", parts=PARTS)
    assert config.sensors[0].driver == "tmp117" and config.sensors[0].address == 0x49
    with open_simulated_hardware(config) as hardware:
        report = run_probe(hardware, pulse_window_s=0)
        assert report["i2c"] == [{"bus": "i2c1", "found": ["0x49"], "missing": [], "unexpected": []}]
        (sensor,) = report["sensors"]
        assert sensor["driver"] == "TMP117" and sensor["address"] == "0x49" and sensor["ok"]
        assert sensor["readings"][0]["value"] == pytest.approx(4.3, abs=LSB_C / 2)
        # 4.3 °C is 550 steps of 7.8125 m°C: 4.296875 °C.
        assert "TMP117 on i2c1 at 0x49: temperature_c = 4.29688 °C" in format_probe(report)

    clock = SimClock(epoch=datetime(2026, 1, 12, 7, 0, tzinfo=UTC))
    with open_simulated_hardware(config, clock) as hardware:
        store = Store(tmp_path / "box.db", commit_interval_s=30, monotonic=clock.monotonic)
        agent = Agent(config, hardware, store, clock, SimCalendar())
        agent.start()
        try:
            # 4.3 °C is below the zone's 7 °C frost line: the heater runs whatever the schedule says.
            assert hardware.parts.relay_energised("hall-heating")
            assert agent.states["hall"].mode == "frost"
            hardware.parts.set_temperature("hall-tmp", 21.0)
            hardware.parts.unplug("hall-tmp")
            hardware.parts.advance(30.0)
            agent.step()
            assert agent.sampler.health["hall-tmp"].health == "fault"
            assert agent.states["hall"].mode == "fallback"
        finally:
            agent.stop()


def test_parts_registry_world_drives_the_new_part(tmp_path: Path) -> None:
    config = parse_config(BOX, tmp_path / "box.toml", parts=PARTS)
    spec = parse_world(WORLD, tmp_path / "world.toml", config.device, config)
    assert spec.zones[0].thermometers == ("hall-tmp",)
