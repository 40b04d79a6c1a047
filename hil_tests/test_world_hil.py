"""The simulated world driving simulated boxes, read back through the real drivers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from drivers.errors import NotPluggedError
from drivers.sim.clock import SimClock
from drivers.sim.world import World
from edge.config.loader import load_config
from edge.hardware.assembly import Hardware
from edge.simulation.hardware import open_simulated_hardware
from edge.simulation.world_file import load_world

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PARIS = ZoneInfo("Europe/Paris")
STEP_S = 60.0


@dataclass
class Box:
    """A simulated box with its world and the simulated clock both run on."""

    hardware: Hardware
    world: World
    clock: SimClock

    def read(self, sensor: str, name: str) -> float:
        """One reading of a sensor through its real driver."""
        return next(r.value for r in self.hardware.sensors[sensor].read() if r.name == name)

    def jump_to(self, local: str) -> None:
        """Skip ahead to a local time without simulating what lies between."""
        self.clock.advance_to(datetime.fromisoformat(local).replace(tzinfo=PARIS))

    def run(self, duration: timedelta) -> None:
        """The simulate loop: the world sets the parts, then time (and water) flows."""
        end = self.clock.now() + duration
        while self.clock.now() < end:
            self.world.update(self.clock.now(), STEP_S)
            self.hardware.parts.advance(STEP_S)

    def update(self) -> None:
        """Set the parts for the current time without letting time pass."""
        self.world.update(self.clock.now(), STEP_S)


def _box(name: str) -> Iterator[Box]:
    config = load_config(EXAMPLES / f"{name}.toml")
    spec = load_world(EXAMPLES / f"{name}-world.toml", config.device, config)
    clock = SimClock(epoch=spec.site.start)
    hardware = open_simulated_hardware(config, clock)
    try:
        yield Box(hardware, World(spec, hardware.parts), clock)
    finally:
        hardware.close()


@pytest.fixture
def hall() -> Iterator[Box]:
    """The town hall box in its world."""
    yield from _box("village-hall")


@pytest.fixture
def inlet() -> Iterator[Box]:
    """The water tower box in its world."""
    yield from _box("village-inlet")


def test_lux_sensor_sees_daylight_at_noon_and_darkness_at_night(hall: Box) -> None:
    hall.jump_to("2026-01-19T12:30")
    hall.update()
    noon_lx = hall.read("lux-roof", "illuminance_lx")
    assert noon_lx > 10_000
    assert abs(noon_lx - hall.world.illuminance) < 0.05 * hall.world.illuminance
    hall.jump_to("2026-01-19T23:00")
    hall.update()
    assert hall.world.is_civil_night(hall.clock.now())
    assert hall.read("lux-roof", "illuminance_lx") < 1.0


def test_noon_storm_darkens_the_lux_sensor_to_a_few_thousand_lux_not_to_night(hall: Box) -> None:
    hall.jump_to("2026-01-20T12:30")
    hall.update()
    assert 1_000 < hall.read("lux-roof", "illuminance_lx") < 5_000
    assert not hall.world.is_civil_night(hall.clock.now())


def test_unplugged_lux_sensor_fails_from_15_00_and_comes_back_when_replugged(hall: Box) -> None:
    hall.jump_to("2026-01-22T14:59")
    hall.update()
    assert hall.read("lux-roof", "illuminance_lx") > 10
    hall.jump_to("2026-01-22T15:00")
    hall.update()
    assert "lux-roof" in hall.world.active_faults()
    with pytest.raises(NotPluggedError):
        hall.read("lux-roof", "illuminance_lx")
    hall.jump_to("2026-01-24T15:00")
    hall.update()
    assert hall.read("lux-roof", "illuminance_lx") > 0


def test_pulses_counted_equal_the_worlds_water_within_one_pulse(hall: Box) -> None:
    hall.jump_to("2026-01-19T08:00")
    hall.run(timedelta(hours=4))
    counted = hall.read("water-main", "volume_total_l")
    assert hall.world.volume_l("water-main") > 100
    assert abs(counted - hall.world.metered_volume_l["water-main"]) <= 1.0


def test_heater_relay_warms_the_hall_and_its_thermometers_see_it(hall: Box) -> None:
    relays = hall.hardware.open_relays()
    hall.jump_to("2026-01-15T00:00")
    hall.update()
    start_c = hall.read("hall-temp", "temperature_c")
    relays["hall-heating"].on()
    hall.run(timedelta(hours=3))
    hall.update()
    warmed_c = hall.read("hall-temp", "temperature_c")
    assert warmed_c > start_c + 1.0
    assert abs(warmed_c - hall.world.zone_temperature_c("hall")) < 0.1
    assert abs(hall.read("hall-climate", "temperature_c") - warmed_c) < 0.3
    relays["hall-heating"].off()
    hall.run(timedelta(hours=3))
    hall.update()
    assert hall.read("hall-temp", "temperature_c") < warmed_c


def test_power_cut_leaves_the_hall_unheated_whatever_the_relay_says(hall: Box) -> None:
    relays = hall.hardware.open_relays()
    relays["hall-heating"].on()
    hall.jump_to("2026-01-14T21:00")
    hall.run(timedelta(minutes=61))
    assert hall.world.powered(hall.clock.now()) is False
    before_c = hall.world.zone_temperature_c("hall")
    hall.run(timedelta(minutes=30))
    assert hall.world.zone_temperature_c("hall") < before_c
    hall.run(timedelta(minutes=30))
    assert hall.world.powered(hall.clock.now())
    after_cut_c = hall.world.zone_temperature_c("hall")
    hall.run(timedelta(minutes=30))
    assert hall.world.zone_temperature_c("hall") > after_cut_c


def test_stuck_thermometer_keeps_its_value_while_the_hall_warms(hall: Box) -> None:
    relays = hall.hardware.open_relays()
    relays["hall-heating"].on()
    hall.jump_to("2026-04-11T23:00")
    hall.run(timedelta(hours=1))
    stuck_c = hall.read("hall-climate", "temperature_c")
    hall.run(timedelta(hours=3))
    hall.update()
    assert hall.read("hall-climate", "temperature_c") == stuck_c
    assert hall.read("hall-temp", "temperature_c") > stuck_c + 1.0


def test_energy_meter_sees_the_street_lights_behind_the_contactor(hall: Box) -> None:
    relays = hall.hardware.open_relays()
    hall.jump_to("2026-01-19T23:00")
    relays["street-lights"].on()
    hall.run(timedelta(hours=1))
    assert abs(hall.read("energy-lighting", "active_power_w") - (740.0 + 12.0)) < 1.0
    relays["street-lights"].off()
    hall.update()
    assert abs(hall.read("energy-lighting", "active_power_w") - 12.0) < 1.0


def test_burst_flows_through_the_inlet_meter_until_the_valve_closes(inlet: Box) -> None:
    relays = inlet.hardware.open_relays()
    inlet.jump_to("2026-11-08T03:00")
    inlet.run(timedelta(hours=1))
    counted_l = inlet.read("inlet-meter", "volume_total_l")
    assert inlet.world.metered_volume_l["inlet-meter"] > 5_000
    assert abs(counted_l - inlet.world.metered_volume_l["inlet-meter"]) <= 10.0
    assert inlet.read("inlet-meter", "flow_lph") > 5_000
    relays["inlet-valve"].on()
    inlet.run(timedelta(minutes=30))
    assert inlet.world.valve_closed
    assert inlet.read("inlet-meter", "volume_total_l") - counted_l <= 10.0
    assert [e.kind for e in inlet.world.water_events("inlet-meter")] == ["leak", "leak", "burst"]


def test_unplugged_inlet_meter_misses_the_water_that_flows_meanwhile(inlet: Box) -> None:
    inlet.jump_to("2026-06-10T08:00")
    inlet.run(timedelta(hours=2))
    counted_l = inlet.read("inlet-meter", "volume_total_l")
    assert abs(counted_l - inlet.world.metered_volume_l["inlet-meter"]) <= 10.0
    assert inlet.world.volume_l("inlet-meter") > inlet.world.metered_volume_l["inlet-meter"] + 1_000
