"""The sampler on its own: staleness, stuck values, cadence, fault and recovery, wall clock steps.

Every expected time and bound below is written from the sensors' configs in the test (interval_s,
stale_after_intervals, stuck_after_s) and from the ticks the test gives, never from the sampler.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from drivers.errors import NoAnswerError, NotPluggedError, SensorError
from drivers.reading import Reading
from edge.config.model import AgentConfig, SensorConfig
from edge.controllers.events import Event
from edge.parts.ds18b20.config import DS18B20Config
from edge.parts.sht31.config import SHT31Config
from edge.runtime.sampler import Sampler

START = datetime(2026, 1, 15, 17, 0, tzinfo=UTC)
BOOT_S = 4242.5  # the monotonic clock counts from boot, not from the epoch: any origin must do
EPSILON_S = 2.0**-10  # about a millisecond, exact in binary floating point


class FakeSensor:
    """A part on a bus as the sampler sees it: each read gives its current value or raises its current error."""

    part = "FakePart"

    def __init__(self, box: Box, name: str, quantity: str, unit: str, value: float) -> None:
        self._box = box
        self.name, self.quantity, self.unit = name, quantity, unit
        self.value = value
        self.error: SensorError | None = None
        self.read_at: list[float] = []  # monotonic seconds since boot of every read

    def read(self) -> tuple[Reading, ...]:
        self.read_at.append(self._box.mono - BOOT_S)
        if self.error is not None:
            raise self.error
        return (Reading(self.name, self.quantity, self.value, self.unit),)


class Box:
    """A sampler fed by a wall clock and a monotonic clock that the test moves, together or apart."""

    def __init__(self, *, stale_after_intervals: float = 3.0, stuck_after_s: float = 6 * 3600.0) -> None:
        self.mono = BOOT_S
        self.wall = START
        self.agent = AgentConfig(stale_after_intervals=stale_after_intervals, stuck_after_s=stuck_after_s)
        self.sensors: dict[str, FakeSensor] = {}
        self.configs: list[SensorConfig] = []
        self.build_faults: dict[str, SensorError] = {}
        self.events: list[tuple[float, Event]] = []  # (seconds since boot, event)
        self._sampler: Sampler | None = None

    def sensor(self, sensor_id: str, interval_s: float, name: str = "temperature_c", quantity: str = "temperature",
               unit: str = "°C", value: float = 19.0) -> FakeSensor:
        self.sensors[sensor_id] = FakeSensor(self, name, quantity, unit, value)
        self.configs.append(SensorConfig(sensor_id, "bus", interval_s))
        return self.sensors[sensor_id]

    @property
    def sampler(self) -> Sampler:
        if self._sampler is None:
            self._sampler = Sampler(self.sensors, tuple(self.configs), self.build_faults, self.agent)
        return self._sampler

    @property
    def t(self) -> float:
        return self.mono - BOOT_S

    def tick(self, *, force: bool = False) -> list[Event]:
        _, events = self.sampler.sample_due(self.wall, self.mono, force=force)
        self.events += [(self.t, e) for e in events]
        return events

    def advance(self, seconds: float) -> None:
        """Time passes on both clocks."""
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)

    def run(self, seconds: float, tick_s: float) -> None:
        """Tick every `tick_s` (after letting it pass) for `seconds`."""
        for _ in range(round(seconds / tick_s)):
            self.advance(tick_s)
            self.tick()

    def kinds(self, sensor_id: str) -> list[tuple[float, str, str]]:
        """(seconds since boot, kind, code) of every event about a sensor."""
        return [(t, e.kind, e.data["code"]) for t, e in self.events if e.source == sensor_id]

    def usable(self, key: str) -> bool:
        return self.sampler.inputs([key])[key].usable


# -- staleness -------------------------------------------------------------------------------------


def test_sampler_value_read_exactly_the_stale_limit_ago_is_not_stale() -> None:
    box = Box(stale_after_intervals=3.0)
    box.sensor("hall-temp", 60.0)
    box.tick(force=True)
    box.advance(60.0 * 3)  # the loop stalled: the last value is interval x stale_after_intervals old
    assert box.tick() == []
    assert box.usable("hall-temp.temperature_c")


def test_sampler_value_older_than_the_stale_limit_is_a_stale_fault_cleared_by_a_fresh_value() -> None:
    box = Box(stale_after_intervals=3.0)
    thermometer = box.sensor("hall-temp", 60.0)
    box.tick(force=True)
    box.advance(60.0 * 3 + EPSILON_S)
    events = box.tick()
    assert [(e.kind, e.data["code"]) for e in events] == [("fault", "stale"), ("fault_cleared", "stale")]
    assert events[0].source == "hall-temp" and events[0].data["sensor"] == "hall-temp" and "180 s" in events[0].reason
    assert thermometer.read_at == [0.0, 180.0 + EPSILON_S]  # the stale value was replaced by a fresh one in the same tick
    assert box.usable("hall-temp.temperature_c")
    box.run(3600.0, 10.0)  # then on time again: no more faults
    assert len(box.kinds("hall-temp")) == 2


def test_sampler_stale_limit_follows_stale_after_intervals() -> None:
    for intervals, fresh_s in ((1.5, 90.0), (10.0, 600.0)):
        box = Box(stale_after_intervals=intervals)
        box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 420.0)
        box.tick(force=True)
        box.advance(fresh_s)
        assert box.tick() == []
        box.advance(fresh_s + EPSILON_S)
        assert [e.data["code"] for e in box.tick()] == ["stale", "stale"]


def test_sampler_sensor_read_on_its_cadence_never_goes_stale() -> None:
    box = Box(stale_after_intervals=1.5)
    box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 420.0)
    box.sensor("climate", 300.0, "relative_humidity_pct", "relative_humidity", "%", 50.0)
    box.tick(force=True)
    for i in range(1, 24 * 360):
        box.sensors["lux"].value = 400.0 + i % 7
        box.sensors["climate"].value = 50.0 + i % 7
        box.advance(10.0)
        box.tick()
    assert box.events == []


# -- stuck values ----------------------------------------------------------------------------------


def _constant(quantity: str, name: str, unit: str, value: float, stuck_after_s: float, hours: float) -> Box:
    box = Box(stuck_after_s=stuck_after_s)
    box.sensor("s", 60.0, name, quantity, unit, value)
    box.tick(force=True)
    box.run(hours * 3600.0, 60.0)
    return box


def test_sampler_constant_temperature_is_stuck_after_exactly_stuck_after_s() -> None:
    box = _constant("temperature", "temperature_c", "°C", 0.0, 3600.0, 2.0)  # 0 °C: a frost night, not darkness
    assert box.kinds("s") == [(3600.0, "fault", "stuck")]
    assert not box.usable("s.temperature_c")


def test_sampler_constant_humidity_is_not_stuck_one_second_before_stuck_after_s() -> None:
    box = _constant("relative_humidity", "relative_humidity_pct", "%", 52.0, 3601.0, 2.0)
    # Read at 3600 s it has held 3600 s, a second short: stuck only at the next read.
    assert box.kinds("s") == [(3660.0, "fault", "stuck")]


def test_sampler_stuck_clock_restarts_when_the_value_changes_and_a_change_clears_stuck() -> None:
    box = Box(stuck_after_s=3600.0)
    thermometer = box.sensor("s", 60.0, value=18.0)
    box.tick(force=True)
    box.run(1800.0, 60.0)
    thermometer.value = 18.5  # read first at 1860 s
    box.run(3600.0 + 120.0, 60.0)
    assert box.kinds("s") == [(1860.0 + 3600.0, "fault", "stuck")]
    thermometer.value = 18.25
    box.run(60.0, 60.0)
    assert box.kinds("s")[1:] == [(5580.0, "fault_cleared", "stuck")]
    assert box.usable("s.temperature_c")


def test_sampler_darkness_is_never_stuck_but_a_constant_daylight_value_is() -> None:
    dark = _constant("illuminance", "illuminance_lx", "lx", 0.0, 3600.0, 14.0)  # a winter night
    assert dark.events == [] and dark.usable("s.illuminance_lx")
    day = _constant("illuminance", "illuminance_lx", "lx", 850.0, 3600.0, 2.0)
    assert day.kinds("s") == [(3600.0, "fault", "stuck")]


def test_sampler_constant_meter_total_is_never_stuck() -> None:
    box = _constant("volume", "volume_total_l", "L", 1234.0, 3600.0, 24.0)  # nobody draws water for a day
    assert box.events == [] and box.usable("s.volume_total_l")


# -- cadence ---------------------------------------------------------------------------------------


def test_sampler_reads_on_a_steady_cadence_over_jittery_ticks() -> None:
    box = Box()
    lux = box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 300.0)
    box.tick(force=True)
    jitter = random.Random(7)
    ticks = [10.0 * k + jitter.choice((-0.001, 0.0, jitter.uniform(0.0, 0.9))) for k in range(1, 6001)]
    for at_s in ticks:
        box.mono = BOOT_S + at_s
        box.wall = START + timedelta(seconds=at_s)
        lux.value = 300.0 + at_s % 13  # a live value
        box.tick()
    # Each read at the first tick at (or a millisecond before) k x 60 s: no drift, no double read, none lost.
    assert lux.read_at == pytest.approx([0.0] + [ticks[6 * k - 1] for k in range(1, 1001)], abs=1e-9)
    assert box.events == []


def test_sampler_reads_every_tick_when_the_tick_equals_the_interval_despite_float_error() -> None:
    box = Box()
    meter = box.sensor("meter", 10.0, "volume_total_l", "volume", "L", 0.0)
    box.tick(force=True)
    error = random.Random(3)
    for _ in range(1000):
        box.advance(10.0 + error.choice((-1e-9, 0.0, 1e-9)))  # float sums of seconds
        box.tick()
    assert len(meter.read_at) == 1001


def test_sampler_tick_a_whole_interval_late_restarts_the_cadence_from_now() -> None:
    box = Box()
    lux = box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 300.0)
    box.tick(force=True)
    box.run(60.0, 10.0)
    box.advance(125.0)  # due at 120 s, the tick comes at 185 s: a whole interval late
    box.tick()
    box.run(130.0, 10.0)
    assert lux.read_at == [0.0, 60.0, 185.0, 245.0, 305.0]


def test_sampler_tick_less_than_an_interval_late_keeps_the_cadence() -> None:
    box = Box()
    lux = box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 300.0)
    box.tick(force=True)
    box.run(60.0, 10.0)
    box.advance(110.0)  # due at 120 s, the tick comes at 170 s
    box.tick()
    box.run(80.0, 10.0)
    assert lux.read_at == [0.0, 60.0, 170.0, 180.0, 240.0]


def test_sampler_force_reads_every_sensor_and_restarts_each_cadence() -> None:
    box = Box()
    lux = box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 300.0)
    climate = box.sensor("climate", 300.0)
    box.tick(force=True)
    box.run(30.0, 10.0)
    box.tick(force=True)
    box.tick(force=True)
    box.run(90.0, 10.0)
    assert lux.read_at == [0.0, 30.0, 30.0, 90.0]
    assert climate.read_at == [0.0, 30.0, 30.0]


# -- fault and recovery ----------------------------------------------------------------------------


def test_sampler_failing_sensor_is_one_fault_event_and_recovery_one_cleared_event() -> None:
    box = Box()
    lux = box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 300.0)
    box.tick(force=True)
    lux.error = NoAnswerError("no answer after 3 tries", part="BH1750", bus="i2c1", address="0x23")
    box.run(600.0, 10.0)  # ten failed reads
    assert box.kinds("lux") == [(60.0, "fault", "no_answer")]
    assert box.sampler.inputs(["lux.illuminance_lx"])["lux.illuminance_lx"].value is None
    assert not box.usable("lux.illuminance_lx")
    lux.error = None
    lux.value = 310.0
    box.run(600.0, 10.0)
    assert box.kinds("lux") == [(60.0, "fault", "no_answer"), (660.0, "fault_cleared", "no_answer")]
    assert box.usable("lux.illuminance_lx")
    assert len(lux.read_at) == 21


def test_sampler_sensor_whose_driver_could_not_be_built_is_faulted_from_the_start() -> None:
    box = Box()
    box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 300.0)
    box.configs.append(SensorConfig("hall-temp", "w1", 120.0))
    box.build_faults["hall-temp"] = NotPluggedError("no device file", part="DS18B20", bus="w1", address="28-00")
    box.tick(force=True)
    box.run(3600.0, 10.0)
    assert box.kinds("hall-temp") == [(0.0, "fault", "not_plugged")]
    assert box.kinds("lux") == []
    assert box.sampler.inputs(["hall-temp.temperature_c"])["hall-temp.temperature_c"].value is None


# -- wall clock steps ------------------------------------------------------------------------------


def _clock_step_box() -> Box:
    box = Box(stuck_after_s=6 * 3600.0)
    box.sensor("lux", 60.0, "illuminance_lx", "illuminance", "lx", 300.0)
    box.sensor("hall-temp", 120.0, value=19.0)  # constant: stuck 6 h after its first read, by the monotonic clock
    box.tick(force=True)
    return box


def _run_with_live_lux(box: Box, seconds: float) -> None:
    for _ in range(round(seconds / 10.0)):
        box.sensors["lux"].value = 300.0 + box.t % 17
        box.advance(10.0)
        box.tick()


def _expected_reads(interval_s: float, until_s: float) -> list[float]:
    return [interval_s * k for k in range(int(until_s // interval_s) + 1)]


def test_sampler_wall_clock_step_forward_makes_no_stale_or_stuck_and_keeps_the_cadence() -> None:
    box = _clock_step_box()
    _run_with_live_lux(box, 1800.0)
    box.wall += timedelta(days=2, hours=3)  # NTP steps the clock of a box that booted without RTC
    _run_with_live_lux(box, 6 * 3600.0 - 1800.0 - 10.0)
    assert box.events == []
    _run_with_live_lux(box, 610.0)
    assert box.kinds("hall-temp") == [(6 * 3600.0, "fault", "stuck")] and box.kinds("lux") == []
    assert box.sensors["lux"].read_at == _expected_reads(60.0, box.t)
    assert box.sensors["hall-temp"].read_at == _expected_reads(120.0, box.t)


def test_sampler_wall_clock_step_backward_keeps_stale_and_stuck_on_time() -> None:
    box = _clock_step_box()
    _run_with_live_lux(box, 1800.0)
    box.wall -= timedelta(hours=5)  # every value read so far is now "from the future"
    _run_with_live_lux(box, 6 * 3600.0 - 1800.0 + 600.0)
    assert box.kinds("hall-temp") == [(6 * 3600.0, "fault", "stuck")] and box.kinds("lux") == []
    assert box.sensors["lux"].read_at == _expected_reads(60.0, box.t)
    box.advance(180.0 + EPSILON_S)  # then the loop stalls: stale past 3 x 60 s of the monotonic clock, not 5 h later
    box.tick()
    assert box.kinds("lux") == [(box.t, "fault", "stale"), (box.t, "fault_cleared", "stale")]
    _run_with_live_lux(box, 600.0)
    assert len(box.kinds("lux")) == 2 and box.usable("lux.illuminance_lx")


# -- stuck values and the sensor's resolution ------------------------------------------------------


def _part_box(config: SensorConfig, quantity: str, name: str, unit: str, value: float) -> Box:
    box = Box(stuck_after_s=6 * 3600.0)
    box.sensors[config.id] = FakeSensor(box, name, quantity, unit, value)
    box.configs.append(config)
    box.tick(force=True)
    return box


def test_sampler_ds18b20_in_a_stable_cabinet_is_not_stuck_until_its_step_could_have_drifted() -> None:
    # A 12-bit DS18B20 steps by 1/16 °C (datasheet Table 1); a stable place may drift 0.05 °C a day, so its
    # value may hold one step for (1/16) / 0.05 days = 30 h. The old rule called it stuck after 6 h.
    box = _part_box(DS18B20Config("cabinet", "w1", 60.0, rom_id="28-0316a2794aff"),
                    "temperature", "temperature_c", "°C", 4.5625)
    box.run(29.9 * 3600.0, 60.0)
    assert box.kinds("cabinet") == []
    box.run(0.2 * 3600.0, 60.0)
    assert box.kinds("cabinet") == [(30 * 3600.0, "fault", "stuck")]


def test_sampler_sht31_frozen_register_is_stuck_after_the_agents_stuck_after_s() -> None:
    # An SHT31 resolves 175/65535 °C and 100/65535 %: its steps could drift in minutes, so the agent's 6 h hold.
    box = _part_box(SHT31Config("climate", "i2c1", 60.0), "relative_humidity", "relative_humidity_pct", "%", 52.0)
    box.run(7 * 3600.0, 60.0)
    assert box.kinds("climate") == [(6 * 3600.0, "fault", "stuck")]
