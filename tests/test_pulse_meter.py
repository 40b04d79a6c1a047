"""Pulse meter pure parts: meter constants, volume conversion, flow estimate."""

from __future__ import annotations

import pytest

from drivers.pulse_meter import (
    flow_lph_from_period,
    litres_per_pulse_of,
    litres_to_pulses,
    period_from_pulses,
    pulses_to_litres,
)


def test_litres_per_pulse_of_accepts_either_form() -> None:
    assert litres_per_pulse_of(10.0, None) == 10.0
    assert litres_per_pulse_of(None, 450.0) == pytest.approx(1 / 450)


@pytest.mark.parametrize(("lpp", "ppl"), [(None, None), (1.0, 450.0), (0.0, None), (None, -1.0)])
def test_litres_per_pulse_of_rejects_missing_double_or_non_positive(lpp: float | None, ppl: float | None) -> None:
    with pytest.raises(ValueError):
        litres_per_pulse_of(lpp, ppl)


def test_pulses_to_litres_is_exact_for_pulses_per_litre_meters() -> None:
    assert pulses_to_litres(450, pulses_per_litre=450.0) == 1.0
    assert pulses_to_litres(4500, pulses_per_litre=450.0) == 10.0


def test_pulses_to_litres_for_litres_per_pulse_meters() -> None:
    assert pulses_to_litres(100_000, litres_per_pulse=1.0) == 100_000.0
    assert pulses_to_litres(7, litres_per_pulse=10.0) == 70.0


def test_litres_to_pulses_inverts_the_meter_constant() -> None:
    assert litres_to_pulses(10.0, 1 / 450) == pytest.approx(4500)


def test_flow_lph_from_period_reed_meter_at_2_lph() -> None:
    assert flow_lph_from_period(1.0, 1800.0, 60.0) == pytest.approx(2.0)


def test_flow_lph_from_period_turbine_at_75_hz() -> None:
    assert flow_lph_from_period(1 / 450, 1 / 75, 0.001) == pytest.approx(600.0)


def test_flow_lph_from_period_decays_when_no_pulse_comes() -> None:
    assert flow_lph_from_period(1.0, 1800.0, 3600.0) == pytest.approx(1.0)
    assert flow_lph_from_period(1.0, 1800.0, 36_000.0) == pytest.approx(0.1)


def test_flow_lph_from_period_is_zero_without_a_period() -> None:
    assert flow_lph_from_period(1.0, None, 5.0) == 0.0


def test_period_from_pulses_is_mean_gap() -> None:
    assert period_from_pulses(10.0, 12.0, 5) == pytest.approx(0.5)
    assert period_from_pulses(10.0, 10.0, 1) is None
