"""PulseMeter behaviour a mutation run (bench/mutation.py) found untested: debounce, counting, totals, flow.

The meter's contact is driven by hand on a simulated GPIO pin (gpiozero's MockFactory, a Raspberry
Pi 3B whose GPIO2 has a fixed 1.8 kΩ pull-up) on a simulated clock. Physics written out here: a reed
contact closes to ground once per pulse (active low, with the pull-up), flow = litres per pulse *
3600 / period in seconds, and a 450 pulses/L turbine gives exactly 1 L for 450 pulses.
"""

from __future__ import annotations

import pytest
from gpiozero.exc import GPIOPinInUse, PinFixedPull

from drivers.pulse_meter import (
    PulseMeter,
    flow_lph_from_period,
    litres_per_pulse_of,
    period_from_pulses,
)
from drivers.reading import Reading
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory

PIN = 17


class _Rig:
    """A simulated pin on a simulated clock, and helpers to work the contact."""

    def __init__(self) -> None:
        self.clock = SimClock(start_s=0.0)
        self.factory = SimPinFactory(self.clock.monotonic)
        self.pin = self.factory.pin(PIN)
        self.pin.drive(True)  # contact open: the pull-up holds the line high

    def meter(self, **kwargs: object) -> PulseMeter:
        args: dict[str, object] = {"litres_per_pulse": 1.0, **kwargs}
        return PulseMeter(self.factory, PIN, **args)  # type: ignore[arg-type]

    def at(self, t: float, level: bool) -> None:
        self.clock.advance(t - self.clock.monotonic())
        self.pin.drive(level)

    def pulse(self, t: float, closed_s: float = 0.25) -> None:
        self.at(t, False)
        self.at(t + closed_s, True)

    def wait_until(self, t: float) -> None:
        self.clock.advance(t - self.clock.monotonic())


def _values(readings: tuple[Reading, ...]) -> dict[str, float]:
    return {r.name: r.value for r in readings}


def test_pulse_meter_readings_and_units() -> None:
    rig = _Rig()
    readings = rig.meter(initial_total_l=12.0).read()
    assert [(r.name, r.quantity, r.unit) for r in readings] == [
        ("volume_total_l", "volume", "L"), ("flow_lph", "flow_rate", "L/h"), ("pulse_count", "pulse_count", "1"),
    ]
    assert _values(readings) == {"volume_total_l": 12.0, "flow_lph": 0.0, "pulse_count": 0}


def test_pulse_meter_defaults_count_a_closing_contact_with_the_pull_up() -> None:
    rig = _Rig()
    meter = PulseMeter(rig.factory, PIN, litres_per_pulse=10.0)
    assert rig.pin.pull == "up"
    assert (meter.bus_name, meter.address) == ("gpio", "GPIO17")
    rig.at(1.0, False)  # the contact closes and stays closed
    rig.wait_until(2.0)
    assert _values(meter.read()) == {"volume_total_l": 10.0, "flow_lph": 0.0, "pulse_count": 1}


def test_pulse_meter_active_high_counts_the_rising_level() -> None:
    rig = _Rig()
    rig.pin.drive(False)
    meter = rig.meter(active_low=False, pull_up=False)
    assert rig.pin.pull == "down"
    rig.at(1.0, True)
    rig.wait_until(2.0)
    assert meter.pulse_count == 1


def test_pulse_meter_counts_every_pulse() -> None:
    rig = _Rig()
    meter = rig.meter()
    for t in (1.0, 2.0, 3.0):
        rig.pulse(t)
    rig.wait_until(4.0)
    assert meter.pulse_count == 3 and meter.total_l == 3.0


def test_pulse_meter_debounce_accepts_a_level_held_exactly_the_debounce_time() -> None:
    rig = _Rig()
    meter = rig.meter(debounce_s=0.5)
    rig.pulse(1.0, closed_s=0.5)
    rig.pulse(3.0, closed_s=0.4)  # a 0.4 s blip is contact bounce, not a pulse
    rig.wait_until(5.0)
    assert meter.pulse_count == 1


def test_pulse_meter_a_bounce_back_to_the_held_level_counts_nothing() -> None:
    rig = _Rig()
    meter = rig.meter(debounce_s=0.5)
    rig.at(1.0, False)  # closes: one pulse, held
    rig.at(2.0, True)  # opens for 0.1 s only: bounce
    rig.at(2.1, False)
    rig.wait_until(4.0)
    assert meter.pulse_count == 1


def test_pulse_meter_contact_closed_at_start_is_no_pulse() -> None:
    rig = _Rig()
    rig.pin.drive(False)
    meter = rig.meter(debounce_s=0.5)
    rig.at(1.0, True)  # a 0.1 s bounce open
    rig.at(1.1, False)
    rig.wait_until(3.0)
    assert meter.pulse_count == 0


def test_pulse_meter_pulses_per_litre_meter_is_exact() -> None:
    rig = _Rig()
    meter = PulseMeter(rig.factory, PIN, pulses_per_litre=450.0, debounce_s=0.0)
    for i in range(450):
        rig.pulse(1.0 + i * 0.01, closed_s=0.005)
    rig.wait_until(10.0)
    assert meter.total_l == 1.0


def test_pulse_meter_set_total_counts_on_from_the_new_index() -> None:
    rig = _Rig()
    meter = rig.meter(litres_per_pulse=10.0)
    for t in (1.0, 2.0, 3.0):
        rig.pulse(t)
    rig.wait_until(4.0)
    meter.set_total_l(1000.0)
    assert meter.total_l == 1000.0
    for t in (5.0, 6.0):
        rig.pulse(t)
    rig.wait_until(7.0)
    assert meter.total_l == 1020.0 and meter.pulse_count == 5
    meter.set_total_l(0.0)
    assert meter.total_l == 0.0
    with pytest.raises(ValueError, match=r"^total_l must be >= 0, got -1\.0$"):
        meter.set_total_l(-1.0)


def test_pulse_meter_set_total_takes_a_pulse_still_settling() -> None:
    rig = _Rig()
    meter = rig.meter(debounce_s=0.5)
    rig.at(1.0, False)
    rig.wait_until(2.0)  # the closing is held 1 s: a pulse, counted when asked
    meter.set_total_l(500.0)
    rig.at(3.0, True)
    rig.wait_until(4.0)
    assert meter.total_l == 500.0


def test_pulse_meter_fast_meter_flow_is_the_mean_period_since_the_last_read() -> None:
    # 450 pulses/L turbine: one pulse per second is 3600 / 450 = 8 L/h.
    rig = _Rig()
    meter = PulseMeter(rig.factory, PIN, pulses_per_litre=450.0)
    for t in (10.0, 11.0, 12.0, 13.0):
        rig.pulse(t)
    rig.wait_until(13.5)
    assert _values(meter.read())["flow_lph"] == pytest.approx(8.0)
    for t in (14.0, 14.5):  # exactly two pulses since the last read: 0.5 s apart, 16 L/h
        rig.pulse(t, closed_s=0.2)
    rig.wait_until(14.8)
    assert _values(meter.read())["flow_lph"] == pytest.approx(16.0)
    for t in (15.0, 15.2, 16.0):  # uneven: the mean period (0.5 s) counts, not the last one (0.8 s)
        rig.pulse(t, closed_s=0.1)
    rig.wait_until(16.2)
    assert _values(meter.read())["flow_lph"] == pytest.approx(16.0)


def test_pulse_meter_slow_meter_flow_is_the_last_period_then_decays() -> None:
    # 1 L/pulse reed meter, pulses 1800 s apart: 2 L/h; an hour without a pulse: at most 1 L/h.
    rig = _Rig()
    meter = rig.meter(litres_per_pulse=1.0)
    rig.pulse(100.0)
    rig.wait_until(200.0)
    assert _values(meter.read())["flow_lph"] == 0.0  # one pulse: no period yet
    rig.pulse(1900.0)
    rig.wait_until(2000.0)
    assert _values(meter.read())["flow_lph"] == pytest.approx(2.0)
    rig.wait_until(5500.0)
    assert _values(meter.read())["flow_lph"] == pytest.approx(1.0)


def test_pulse_meter_flow_helpers_at_their_edges() -> None:
    assert flow_lph_from_period(1.0, 0.0, 5.0) == 0.0
    assert period_from_pulses(10.0, 12.0, 2) == 2.0
    assert period_from_pulses(10.0, 12.0, 1) is None
    assert period_from_pulses(10.0, 10.0, 3) is None


def test_pulse_meter_argument_errors_say_what_is_allowed() -> None:
    rig = _Rig()
    with pytest.raises(ValueError, match=r"^give exactly one of litres_per_pulse or pulses_per_litre$"):
        litres_per_pulse_of(None, None)
    with pytest.raises(ValueError, match=r"^litres_per_pulse must be > 0, got 0\.0$"):
        litres_per_pulse_of(0.0, None)
    with pytest.raises(ValueError, match=r"^pulses_per_litre must be > 0, got 0\.0$"):
        litres_per_pulse_of(None, 0.0)
    with pytest.raises(ValueError, match=r"^pin_factory is required \(inject the board's or a simulated factory\)$"):
        PulseMeter(None, PIN, litres_per_pulse=1.0)
    with pytest.raises(ValueError, match=r"^pin must be a GPIO number >= 0, got '17'$"):
        PulseMeter(rig.factory, "17", litres_per_pulse=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^pin must be a GPIO number >= 0, got -1$"):
        PulseMeter(rig.factory, -1, litres_per_pulse=1.0)
    with pytest.raises(ValueError, match=r"^debounce_s must be >= 0, got -0\.1$"):
        PulseMeter(rig.factory, PIN, litres_per_pulse=1.0, debounce_s=-0.1)
    with pytest.raises(ValueError, match=r"^initial_total_l must be >= 0, got -5\.0$"):
        PulseMeter(rig.factory, PIN, litres_per_pulse=1.0, initial_total_l=-5.0)


def test_pulse_meter_gpio0_and_no_debounce_are_allowed() -> None:
    rig = _Rig()
    with PulseMeter(rig.factory, 0, litres_per_pulse=1.0, debounce_s=0.0) as meter:
        assert meter.address == "GPIO0"


def test_pulse_meter_holds_its_pin_until_closed() -> None:
    rig = _Rig()
    meter = rig.meter()
    with pytest.raises(GPIOPinInUse):
        rig.meter()
    meter.close()
    rig.meter().close()


def test_pulse_meter_failed_set_up_releases_its_pin() -> None:
    rig = _Rig()
    with pytest.raises(PinFixedPull):
        PulseMeter(rig.factory, 2, litres_per_pulse=1.0, pull_up=False)  # GPIO2's pull-up is fixed
    PulseMeter(rig.factory, 2, litres_per_pulse=1.0).close()


def test_pulse_meter_a_level_held_exactly_the_debounce_time_counts_when_read() -> None:
    rig = _Rig()
    meter = rig.meter(debounce_s=0.5)
    rig.at(1.0, False)
    rig.wait_until(1.5)
    assert meter.pulse_count == 1
