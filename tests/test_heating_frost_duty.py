"""The blind duty cycle of a heating zone and the heater lift it is sized from.

Oracle: a zone is one thermal mass, C dT/dt = P u - L (T - T_out); held at a duty u it settles at
T_out + u P / L, so holding frost_c + margin needs u >= L (frost_c + margin - T_out) / P. Every zone
below is written in the test (P, L, C), and the lift is checked against P / L.
"""

from __future__ import annotations

import math

import pytest

from drivers.sim.thermal import ZoneModel
from drivers.sim.world_spec import ZoneSpec
from edge.controllers.heating.frost_duty import cycle_on_s, frost_duty
from edge.controllers.heating.losses import Lift, LossWindow, follow_lift

HEATER_W = 500.0
LOSS_W_PER_K = 12.0
FROST_C = 5.0
MARGIN_C = 3.0


def _duty(**kw: object) -> float:
    args: dict[str, object] = {"frost_c": FROST_C, "margin_c": MARGIN_C, "lift_k": HEATER_W / LOSS_W_PER_K,
                               "outdoor_c": -20.0, "design_outdoor_c": -25.0, "frost_only": True, "fallback_duty": 0.6}
    args.update(kw)
    return frost_duty(**args).duty  # type: ignore[arg-type]


@pytest.mark.parametrize("outdoor_c", [-25.0, -20.0, -10.0, 0.0, 5.0])
def test_frost_duty_meets_the_steady_heat_balance_at_the_outdoor_reading(outdoor_c: float) -> None:
    needed = LOSS_W_PER_K * (FROST_C + MARGIN_C - outdoor_c) / HEATER_W
    duty = _duty(outdoor_c=outdoor_c)
    assert needed - 1e-9 <= duty <= needed + 0.01
    # Held at that duty, the zone settles at frost_c + margin (or above): never below frost_c.
    assert outdoor_c + duty * HEATER_W / LOSS_W_PER_K >= FROST_C + MARGIN_C - 1e-9


def test_frost_duty_takes_the_outdoor_reading_rounded_down_to_a_whole_degree() -> None:
    assert _duty(outdoor_c=-19.2) == _duty(outdoor_c=-20.0) == LOSS_W_PER_K * 28.0 / HEATER_W
    assert _duty(outdoor_c=-19.0) < _duty(outdoor_c=-19.2)


def test_frost_duty_without_an_outdoor_reading_holds_at_the_coldest_credible_outdoor_temperature() -> None:
    needed = LOSS_W_PER_K * (FROST_C + MARGIN_C + 25.0) / HEATER_W  # design_outdoor_c = -25 °C
    assert _duty(outdoor_c=None) == pytest.approx(needed)


def test_frost_duty_is_zero_when_outdoors_is_warmer_than_the_target_and_full_when_the_heater_is_too_small() -> None:
    assert _duty(outdoor_c=12.0) == 0.0
    assert _duty(outdoor_c=-40.0, lift_k=30.0) == 1.0


def test_frost_duty_with_nothing_learned_is_full_for_a_frost_only_zone_and_fallback_duty_otherwise() -> None:
    assert _duty(lift_k=None, frost_only=True) == 1.0
    assert _duty(lift_k=None, frost_only=False) == 0.6
    assert _duty(lift_k=None, frost_only=False, outdoor_c=None) == 0.6


def test_cycle_on_s_rounds_up_to_the_minimum_times() -> None:
    assert cycle_on_s(0.5, 3600.0, 300.0, 300.0) == 1800.0
    assert cycle_on_s(0.05, 3600.0, 300.0, 300.0) == 300.0  # 180 s would be shorter than min_on_s
    assert cycle_on_s(0.95, 3600.0, 300.0, 300.0) == 3600.0  # a 180 s pause would be shorter than min_off_s
    assert cycle_on_s(0.0, 3600.0, 300.0, 300.0) == 0.0


def _thermostat_days(days: float, outdoor_mean_c: float, gain_w: float = 0.0) -> Lift:
    """A cabinet held at 5 °C by a thermostat (±0.5 °C) under a daily outdoor swing, its lift learned each minute."""
    zone = ZoneModel(ZoneSpec("cabinet", (), "heater", HEATER_W, LOSS_W_PER_K, 150.0, initial_c=6.0,
                              internal_gain_w=gain_w))
    lift = Lift(None, 0, LossWindow())
    heating = False
    for minute in range(int(days * 1440)):
        now_s = minute * 60.0
        outdoor_c = outdoor_mean_c + 4.0 * math.sin(2 * math.pi * now_s / 86_400.0)
        temperature_c = round(zone.temperature_c * 16) / 16  # what a 12-bit DS18B20 reads
        lift = follow_lift(lift, heated=heating, temperature_c=temperature_c, outdoor_c=outdoor_c, now_s=now_s,
                           restarted=minute == 0)
        if temperature_c < 4.5:
            heating = True
        elif temperature_c > 5.5:
            heating = False
        zone.step(outdoor_c, heating, 60.0)
    return lift


def test_losses_learn_the_heater_lift_of_a_thermostat_cabinet_within_ten_percent() -> None:
    lift = _thermostat_days(4.0, outdoor_mean_c=0.0)
    assert lift.samples >= 4
    assert lift.lift_k is not None
    assert abs(lift.lift_k - HEATER_W / LOSS_W_PER_K) <= 0.1 * HEATER_W / LOSS_W_PER_K


def test_losses_learn_nothing_without_an_outdoor_reading_or_a_heater_that_runs() -> None:
    lift = Lift(None, 0, LossWindow())
    for minute in range(3 * 1440):
        lift = follow_lift(lift, heated=True, temperature_c=5.0, outdoor_c=None, now_s=minute * 60.0, restarted=False)
    assert lift.lift_k is None and lift.samples == 0
    warm = _thermostat_days(2.0, outdoor_mean_c=12.0)  # never below 8 °C outside: the heater never runs
    assert warm.lift_k is None
