"""Daylight and outdoor temperature of the simulated world."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta

from drivers.sim.solar import SunTracker
from drivers.sim.weather import (
    FULL_MOON_LX,
    NEW_MOON_TS,
    NIGHT_LX,
    STORM_RAMP_S,
    LightModel,
    OutdoorModel,
    clear_sky_illuminance_lx,
    cloud_transmission,
    gauss,
    moon_fraction,
    uniform,
)
from drivers.sim.world_spec import ColdSnapSpec, LightSpec, OutdoorSpec, StormSpec

PARIS_OFFSET_S = 3600.0  # winter time
SUN = SunTracker(45.187, 5.726)


def _ts(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_clear_sky_illuminance_follows_the_almanac() -> None:
    assert 95_000 <= clear_sky_illuminance_lx(90.0) <= 120_000
    assert 80_000 <= clear_sky_illuminance_lx(60.0) <= 100_000
    assert 300 <= clear_sky_illuminance_lx(-0.833) <= 500
    assert 1.0 <= clear_sky_illuminance_lx(-6.0) <= 10.0
    assert clear_sky_illuminance_lx(-18.0) < 0.01
    assert clear_sky_illuminance_lx(-50.0) < 0.01


def test_clear_sky_illuminance_rises_with_the_sun() -> None:
    levels = [clear_sky_illuminance_lx(e / 10) for e in range(-300, 900)]
    assert all(b >= a for a, b in zip(levels, levels[1:], strict=False))


def test_moon_is_new_then_full_half_a_month_later() -> None:
    assert moon_fraction(NEW_MOON_TS) < 0.01
    assert moon_fraction(NEW_MOON_TS + 14.77 * 86400) > 0.99
    assert moon_fraction(NEW_MOON_TS + 29.530588 * 86400 * 300) < 0.01


def test_clouds_let_through_all_light_when_clear_and_a_quarter_when_overcast() -> None:
    assert cloud_transmission(0.0) == 1.0
    assert math.isclose(cloud_transmission(1.0), 0.25)
    assert 0.9 < cloud_transmission(0.5) < 1.0


def test_random_numbers_are_reproducible_and_well_spread() -> None:
    draws = [uniform(7, 1, i) for i in range(20_000)]
    assert draws == [uniform(7, 1, i) for i in range(20_000)]
    assert all(0.0 <= d < 1.0 for d in draws)
    assert abs(statistics.fmean(draws) - 0.5) < 0.01
    normals = [gauss(7, 2, i) for i in range(20_000)]
    assert abs(statistics.fmean(normals)) < 0.03
    assert abs(statistics.pstdev(normals) - 1.0) < 0.03
    assert uniform(7, 1, 5) != uniform(8, 1, 5) != uniform(7, 2, 5)


def test_cloud_cover_averages_the_declared_mean_and_moves_smoothly() -> None:
    model = LightModel(LightSpec(("lux",), cloud_cover=0.3), seed=4)
    start = _ts(2026, 1, 1)
    covers = [model.cloud_cover(start + 60 * i) for i in range(0, 365 * 1440, 7)]
    assert all(0.0 <= c <= 1.0 for c in covers)
    assert abs(statistics.fmean(covers) - 0.3) < 0.05
    steps = [abs(model.cloud_cover(start + 60 * (i + 1)) - model.cloud_cover(start + 60 * i)) for i in range(5000)]
    assert max(steps) < 0.03


def test_a_clear_world_has_no_clouds_and_night_light_between_moonless_and_full_moon() -> None:
    model = LightModel(LightSpec(("lux",), cloud_cover=0.0), seed=1)
    for day in range(30):
        ts = _ts(2026, 1, 1, 23) + day * 86400
        assert model.cloud_cover(ts) == 0.0
        night = model.illuminance_lx(ts, SUN.elevation_deg(ts))
        assert NIGHT_LX <= night <= NIGHT_LX + FULL_MOON_LX + 0.001


def test_winter_noon_is_tens_of_thousands_of_lux_and_a_storm_brings_it_to_a_few_thousand() -> None:
    noon = _ts(2026, 1, 20, 11, 30)
    clear = LightModel(LightSpec(("lux",), cloud_cover=0.0), seed=1)
    storm = StormSpec(datetime.fromtimestamp(noon - 3600, UTC), datetime.fromtimestamp(noon + 3600, UTC), 8.0)
    stormy = LightModel(LightSpec(("lux",), cloud_cover=0.5, storms=(storm,)), seed=1)
    elevation = SUN.elevation_deg(noon)
    assert 20_000 < clear.illuminance_lx(noon, elevation) < 50_000
    assert 1_000 < stormy.illuminance_lx(noon, elevation) < 5_000


def test_a_storm_fades_in_before_its_start_and_is_gone_after_its_end() -> None:
    start = _ts(2026, 7, 16, 15)
    storm = StormSpec(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(start + 7200, UTC), 5.0)
    model = LightModel(LightSpec(("lux",), cloud_cover=0.0, storms=(storm,)), seed=1)
    assert model.storm_weight(start - STORM_RAMP_S - 1)[0] == 0.0
    assert 0.4 < model.storm_weight(start - STORM_RAMP_S / 2)[0] < 0.6
    assert model.storm_weight(start)[0] == 1.0
    assert model.storm_weight(start + 7200 + STORM_RAMP_S + 1)[0] == 0.0
    elevation = SUN.elevation_deg(start + 3600)
    assert math.isclose(model.illuminance_lx(start + 3600, elevation),
                        0.05 * (clear_sky_illuminance_lx(elevation) + NIGHT_LX + FULL_MOON_LX
                                * moon_fraction(start + 3600)), rel_tol=1e-9)


def test_civil_dusk_gives_a_few_lux_and_sunset_a_few_hundred() -> None:
    model = LightModel(LightSpec(("lux",), cloud_cover=0.0), seed=1)
    ts = _ts(2026, 3, 1, 16)
    while SUN.elevation_deg(ts) > -0.833:
        ts += 30
    assert 250 < model.illuminance_lx(ts, SUN.elevation_deg(ts)) < 600
    while SUN.elevation_deg(ts) > -6.0:
        ts += 30
    assert 1 < model.illuminance_lx(ts, SUN.elevation_deg(ts)) < 10


def _outdoor(spec: OutdoorSpec, when: datetime) -> float:
    return OutdoorModel(spec, seed=5).temperature_c(when.timestamp(), when.timestamp() + PARIS_OFFSET_S)


def test_outdoor_temperature_is_colder_in_january_than_july_by_twice_the_annual_swing() -> None:
    spec = OutdoorSpec(annual_mean_c=11.0, annual_swing_c=9.0, daily_swing_c=4.0, day_to_day_c=0.0)
    model = OutdoorModel(spec, seed=5)
    january = statistics.fmean(model.daily_mean_c(_ts(2026, 1, 15) + 3600 + d * 86400) for d in range(-3, 4))
    july = statistics.fmean(model.daily_mean_c(_ts(2026, 7, 16) + 3600 + d * 86400) for d in range(-3, 4))
    assert abs(january - 2.0) < 0.3
    assert abs(july - 20.0) < 0.3


def test_outdoor_temperature_peaks_mid_afternoon_and_bottoms_out_before_dawn() -> None:
    spec = OutdoorSpec(annual_mean_c=11.0, annual_swing_c=0.0, daily_swing_c=4.0, day_to_day_c=0.0)
    day = datetime(2026, 4, 10, tzinfo=UTC)
    temps = {h: _outdoor(spec, day + timedelta(hours=h) - timedelta(seconds=PARIS_OFFSET_S)) for h in range(24)}
    assert max(temps, key=temps.__getitem__) == 15
    assert min(temps, key=temps.__getitem__) == 3
    assert math.isclose(temps[15] - temps[3], 8.0, abs_tol=0.01)


def test_day_to_day_weather_varies_daily_means_by_its_spread() -> None:
    model = OutdoorModel(OutdoorSpec(annual_swing_c=0.0, daily_swing_c=0.0, day_to_day_c=2.5), seed=11)
    means = [model.daily_mean_c(_ts(2026, 1, 1, 12) + d * 86400) for d in range(365)]
    assert 2.0 < statistics.pstdev(means) < 3.0


def test_a_cold_snap_holds_the_daily_mean_at_its_temperature() -> None:
    start = datetime(2026, 2, 2, tzinfo=UTC)
    snap = ColdSnapSpec(start, start + timedelta(days=4), -10.0)
    spec = OutdoorSpec(annual_mean_c=11.0, daily_swing_c=4.0, cold_snaps=(snap,))
    during = [_outdoor(spec, start + timedelta(hours=h)) for h in range(96)]
    assert math.isclose(statistics.fmean(during), -10.0, abs_tol=0.2)
    assert max(during) <= -6.0 + 0.01
    before = _outdoor(spec, start - timedelta(hours=7))
    after = _outdoor(spec, start + timedelta(days=4, hours=7))
    assert before > -5 and after > -5
