"""Pulse meter physical facts written out literally, never taken from the code under test.

Sources: the YF-S201 Hall-effect flow sensor spec sheet ("F = 7.5 x Q", F in Hz, Q in L/min, rated
1 to 30 L/min; the sheet carries no revision); a reed-contact meter closes its contact to ground,
so its input needs a pull-up and is active low.
"""

from __future__ import annotations

import pytest

from drivers import pulse_meter
from drivers.pulse_meter import PulseMeter, flow_lph_from_period, litres_per_pulse_of, pulses_to_litres
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory


def test_pulse_meter_hour_is_3600_seconds() -> None:
    assert pulse_meter.SECONDS_PER_HOUR == 3600.0


def test_pulse_meter_yf_s201_is_450_pulses_per_litre() -> None:
    # F = 7.5 Q: 7.5 pulses per second at 1 L/min, i.e. 7.5 * 60 = 450 pulses per litre
    assert litres_per_pulse_of(None, 7.5 * 60) == pytest.approx(1 / 450)
    assert pulses_to_litres(450, pulses_per_litre=450.0) == 1.0
    assert pulses_to_litres(13_500, pulses_per_litre=450.0) == 30.0  # one minute at the 30 L/min maximum


@pytest.mark.parametrize(("frequency_hz", "flow_l_per_min"), [(7.5, 1.0), (75.0, 10.0), (225.0, 30.0)])
def test_pulse_meter_yf_s201_frequency_to_flow(frequency_hz: float, flow_l_per_min: float) -> None:
    flow_lph = flow_lph_from_period(1 / 450, 1 / frequency_hz, 0.0)
    assert flow_lph == pytest.approx(flow_l_per_min * 60)


def test_pulse_meter_reed_contact_defaults_to_pull_up_and_active_low() -> None:
    clock = SimClock(start_s=0.0)
    factory = SimPinFactory(clock)
    try:
        meter = PulseMeter(factory, 17, litres_per_pulse=10.0)
        assert factory.pin(17).pull == "up"
        factory.pin(17).drive(False)  # the contact closes to ground: one pulse
        clock.advance(0.5)
        factory.pin(17).drive(None)  # it opens: the pull-up brings the input back high
        clock.advance(0.5)
        assert meter.pulse_count == 1
        meter.close()
    finally:
        factory.close()
