"""The building thermal model: one thermal mass per zone, heater, losses to the outdoors."""

from __future__ import annotations

import math

import pytest

from drivers.sim.thermal import ZoneModel, relative_humidity_pct, steady_temperature_c, zone_temperature_after_c
from drivers.sim.world_spec import ZoneSpec

HALL = ZoneSpec("hall", ("hall-temp",), "hall-heating", heater_w=3000.0, loss_w_per_k=90.0,
                capacity_kj_per_k=12600.0, initial_c=15.0)


def test_zone_settles_at_outdoors_plus_power_over_losses() -> None:
    assert math.isclose(steady_temperature_c(-10.0, 3000.0, 90.0), -10.0 + 3000.0 / 90.0)


def test_zone_temperature_after_follows_the_time_constant() -> None:
    tau_s = HALL.time_constant_s
    after = zone_temperature_after_c(15.0, -10.0, 0.0, 90.0, 12600.0, tau_s)
    assert math.isclose(after, -10.0 + 25.0 / math.e)


def test_unheated_hall_falls_from_15_to_about_0_in_a_day_or_two_of_hard_frost() -> None:
    zone = ZoneModel(HALL)
    hours = 0
    while zone.temperature_c > 0.0:
        zone.step(-10.0, False, 60.0)
        hours += 1 / 60
    assert 24 <= hours <= 48


def test_heated_hall_can_hold_19_at_minus_10() -> None:
    zone = ZoneModel(HALL)
    for _ in range(10 * 1440):
        zone.step(-10.0, True, 60.0)
    assert zone.temperature_c > 19.0
    assert steady_temperature_c(-10.0, HALL.heater_w, HALL.loss_w_per_k) > 19.0


def test_heater_warms_and_losses_cool_within_an_hour() -> None:
    zone = ZoneModel(HALL)
    for _ in range(60):
        zone.step(5.0, True, 60.0)
    warmed = zone.temperature_c
    assert warmed > 15.2
    for _ in range(60):
        zone.step(5.0, False, 60.0)
    assert zone.temperature_c < warmed


def test_integration_is_exact_whatever_the_step() -> None:
    fine, coarse = ZoneModel(HALL), ZoneModel(HALL)
    for _ in range(1440):
        fine.step(-3.0, True, 60.0)
    coarse.step(-3.0, True, 86400.0)
    assert math.isclose(fine.temperature_c, coarse.temperature_c, rel_tol=1e-9)
    assert math.isclose(fine.temperature_c, zone_temperature_after_c(15.0, -3.0, 3000.0, 90.0, 12600.0, 86400.0))


def test_heat_delivered_is_counted_only_while_the_heater_is_on() -> None:
    zone = ZoneModel(HALL)
    for _ in range(60):
        zone.step(0.0, True, 60.0)
    for _ in range(60):
        zone.step(0.0, False, 60.0)
    assert math.isclose(zone.heat_kwh, 3.0)
    assert zone.heater_on is False


def test_internal_gains_warm_an_unheated_zone() -> None:
    spec = ZoneSpec("store", (), None, 0.0, 20.0, 2000.0, initial_c=0.0, internal_gain_w=200.0)
    zone = ZoneModel(spec)
    zone.step(0.0, True, 10 * 86400.0)
    assert math.isclose(zone.temperature_c, 10.0, abs_tol=0.01)


def test_zone_refuses_impossible_numbers() -> None:
    with pytest.raises(ValueError, match="loss_w_per_k"):
        ZoneModel(ZoneSpec("x", (), None, 0.0, 0.0, 100.0))
    with pytest.raises(ValueError, match="heater_w"):
        ZoneModel(ZoneSpec("x", (), None, -1.0, 10.0, 100.0))


def test_relative_humidity_falls_as_the_same_air_warms() -> None:
    assert relative_humidity_pct(20.0, 50.0) == pytest.approx(50.0)
    # Air at 50 % and 20 °C holds 11.7 hPa of vapour: 83 % at 12 °C and 31 % at 28 °C (Magnus formula).
    assert relative_humidity_pct(12.0, 50.0) == pytest.approx(83.6, abs=0.5)
    assert relative_humidity_pct(28.0, 50.0) == pytest.approx(31.0, abs=0.5)
    assert relative_humidity_pct(-5.0, 50.0) == 100.0
