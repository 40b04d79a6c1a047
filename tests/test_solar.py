"""Fast solar position against astral's, and the sun tracker's per-day cache."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from astral import Observer
from astral.sun import elevation

from drivers.sim.solar import SunTracker, refraction_deg, solar_elevation_deg

PLACES = ((45.187, 5.726), (60.17, 24.94), (-33.87, 151.21), (0.0, -78.5), (69.65, 18.96))
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)


def _instants(count: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    return [YEAR_START + timedelta(seconds=rng.uniform(0, 366 * 86400)) for _ in range(count)]


def test_solar_elevation_matches_astral_within_half_a_degree() -> None:
    for latitude, longitude in PLACES:
        observer = Observer(latitude, longitude)
        for when in _instants(300, seed=int(latitude * 100)):
            expected = elevation(observer, when)
            got = solar_elevation_deg(when.timestamp(), latitude, longitude)
            assert abs(got - expected) < 0.5, (latitude, longitude, when, got, expected)


def test_sun_tracker_matches_astral_within_half_a_degree_over_a_year_of_steps() -> None:
    tracker = SunTracker(45.187, 5.726)
    observer = Observer(45.187, 5.726)
    when = YEAR_START
    worst = 0.0
    while when < YEAR_START + timedelta(days=365):
        worst = max(worst, abs(tracker.elevation_deg(when.timestamp()) - elevation(observer, when)))
        when += timedelta(minutes=317)
    assert worst < 0.5


def test_sun_tracker_agrees_with_the_uncached_function() -> None:
    tracker = SunTracker(60.17, 24.94)
    for when in _instants(500, seed=3):
        ts = when.timestamp()
        assert abs(tracker.elevation_deg(ts) - solar_elevation_deg(ts, 60.17, 24.94)) < 0.01


def test_sun_tracker_gives_the_same_answer_when_asked_out_of_order() -> None:
    tracker = SunTracker(45.187, 5.726)
    times = [w.timestamp() for w in _instants(50, seed=9)]
    first = [tracker.elevation_deg(ts) for ts in times]
    again = [tracker.elevation_deg(ts) for ts in reversed(times)]
    assert first == list(reversed(again))


def test_sun_is_high_at_summer_noon_and_below_the_horizon_at_winter_midnight() -> None:
    tracker = SunTracker(45.187, 5.726)
    summer_noon = datetime(2026, 6, 21, 11, 38, tzinfo=UTC).timestamp()
    winter_midnight = datetime(2026, 12, 21, 23, 0, tzinfo=UTC).timestamp()
    assert 67.5 < tracker.elevation_deg(summer_noon) < 68.5
    assert tracker.elevation_deg(winter_midnight) < -60
    assert tracker.is_civil_night(winter_midnight)
    assert not tracker.is_civil_night(summer_noon)


def test_civil_night_begins_when_the_sun_passes_six_degrees_below() -> None:
    tracker = SunTracker(45.187, 5.726)
    ts = datetime(2026, 1, 20, 16, 0, tzinfo=UTC).timestamp()
    while not tracker.is_civil_night(ts):
        ts += 60
    assert -6.2 < tracker.elevation_deg(ts) < -6.0
    observer = Observer(45.187, 5.726)
    assert abs(elevation(observer, datetime.fromtimestamp(ts, UTC)) + 6.0) < 0.5


def test_refraction_lifts_the_sun_about_half_a_degree_at_the_horizon_and_not_overhead() -> None:
    assert 0.45 < refraction_deg(0.0) < 0.6
    assert refraction_deg(88.0) == 0.0
    assert 0.0 < refraction_deg(30.0) < 0.05
    assert 0.0 <= refraction_deg(-10.0) < 0.05


def test_sun_tracker_refuses_a_place_off_the_globe() -> None:
    for latitude, longitude in ((91.0, 0.0), (0.0, 181.0)):
        with pytest.raises(ValueError, match="no such place"):
            SunTracker(latitude, longitude)
