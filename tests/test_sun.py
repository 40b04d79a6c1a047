"""Sun times at the box: published sunrise/sunset, offsets, polar days and nights, twilight."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.config.model import DeviceConfig
from edge.controllers.sun import HORIZON_DEG, SunCalendar

PARIS = ZoneInfo("Europe/Paris")


def _local(times_utc: datetime | None) -> datetime:
    assert times_utc is not None
    assert times_utc.tzinfo is not None
    return times_utc.astimezone(PARIS)


def _minutes(at: datetime) -> int:
    return at.hour * 60 + at.minute


@pytest.mark.parametrize(
    ("day", "sunrise", "sunset"),
    [
        # Published times for Paris (48.8566 N, 2.3522 E), to the minute.
        (date(2026, 6, 21), "05:47", "21:58"),
        (date(2026, 12, 21), "08:42", "16:56"),
    ],
)
def test_sun_times_match_published_paris_times(day: date, sunrise: str, sunset: str) -> None:
    calendar = SunCalendar(48.8566, 2.3522, "Europe/Paris")
    times = calendar.times(day)
    for computed, published in ((times.sunrise, sunrise), (times.sunset, sunset)):
        local = _local(computed)
        assert local.date() == day
        hours, minutes = map(int, published.split(":"))
        assert abs(_minutes(local) - (hours * 60 + minutes)) <= 2
    assert times.polar is None
    assert times.sunrise < times.noon < times.sunset


def test_sun_elevation_is_at_the_horizon_at_sunset() -> None:
    calendar = SunCalendar(45.187, 5.726, "Europe/Paris")
    sunset = calendar.times(date(2026, 1, 15)).sunset
    assert sunset is not None
    assert calendar.elevation_deg(sunset) == pytest.approx(HORIZON_DEG, abs=0.05)


def test_sun_noon_elevation_at_equinox_is_ninety_minus_latitude() -> None:
    calendar = SunCalendar(45.0, 5.7, "Europe/Paris")
    noon = calendar.times(date(2026, 3, 20)).noon
    assert calendar.elevation_deg(noon) == pytest.approx(45.0, abs=0.6)


def test_sun_for_device_uses_its_place_and_time_zone() -> None:
    device = DeviceConfig("box", "Box", 48.8566, 2.3522, "Europe/Paris", elevation_m=420.0)
    calendar = SunCalendar.for_device(device)
    assert calendar.zone == PARIS
    # Altitude above sea level is not height above the horizon: it must not move sunset.
    plain = SunCalendar(48.8566, 2.3522, "Europe/Paris")
    day = date(2026, 6, 21)
    assert calendar.times(day).sunset == plain.times(day).sunset


def test_sun_night_follows_sunset_and_sunrise_with_offsets() -> None:
    calendar = SunCalendar(45.187, 5.726, "Europe/Paris")
    times = calendar.times(date(2026, 1, 15))
    assert times.sunrise is not None and times.sunset is not None
    assert not calendar.is_night(times.sunset - timedelta(minutes=1))
    assert calendar.is_night(times.sunset)
    assert not calendar.is_night(times.sunset + timedelta(minutes=10), sunset_offset_min=15)
    assert calendar.is_night(times.sunset + timedelta(minutes=15), sunset_offset_min=15)
    assert calendar.is_night(times.sunrise - timedelta(minutes=1))
    assert not calendar.is_night(times.sunrise)
    assert calendar.is_night(times.sunrise + timedelta(minutes=5), sunrise_offset_min=10)
    assert not calendar.is_night(times.sunrise - timedelta(minutes=15), sunrise_offset_min=-20)


def test_sun_verdict_names_the_sun_time_behind_it() -> None:
    calendar = SunCalendar(45.187, 5.726, "Europe/Paris")
    times = calendar.times(date(2026, 1, 15))
    assert times.sunset is not None and times.sunrise is not None
    evening = calendar.verdict(times.sunset + timedelta(hours=1), sunset_offset_min=-10)
    assert (evening.night, evening.basis, evening.offset_min) == (True, "sunset", -10)
    assert evening.at == times.sunset - timedelta(minutes=10)
    morning = calendar.verdict(times.sunrise - timedelta(hours=1))
    assert (morning.night, morning.basis, morning.at) == (True, "sunrise", times.sunrise)
    day = calendar.verdict(times.noon)
    assert (day.night, day.basis, day.at) == (False, "sunset", times.sunset)


def test_sun_polar_day_and_night_have_no_sunrise_or_sunset() -> None:
    calendar = SunCalendar(78.22, 15.65, "Arctic/Longyearbyen")
    summer = calendar.times(date(2026, 6, 21))
    winter = calendar.times(date(2026, 12, 21))
    assert (summer.sunrise, summer.sunset, summer.polar) == (None, None, "day")
    assert (winter.sunrise, winter.sunset, winter.polar) == (None, None, "night")
    midnight_sun = datetime(2026, 6, 21, 23, 0, tzinfo=UTC)
    polar_noon = datetime(2026, 12, 21, 11, 0, tzinfo=UTC)
    assert not calendar.is_night(midnight_sun)
    assert calendar.verdict(midnight_sun).basis == "polar day"
    assert calendar.is_night(polar_noon)
    assert calendar.verdict(polar_noon).basis == "polar night"


def test_sun_civil_night_starts_after_twilight() -> None:
    calendar = SunCalendar(45.187, 5.726, "Europe/Paris")
    sunset = calendar.times(date(2026, 1, 15)).sunset
    assert sunset is not None
    assert not calendar.is_civil_night(sunset + timedelta(minutes=5))
    assert calendar.is_civil_night(sunset + timedelta(minutes=60))
    assert calendar.elevation_deg(sunset + timedelta(minutes=60)) < -6.0


def test_sun_times_are_kept_and_recomputed_identically() -> None:
    calendar = SunCalendar(45.187, 5.726, "Europe/Paris", cache_days=2)
    day = date(2026, 3, 29)  # the spring clock change in Europe
    first = calendar.times(day)
    assert calendar.times(day) is first
    for offset in range(1, 5):
        calendar.times(day + timedelta(days=offset))
    again = calendar.times(day)
    assert again == first
    assert _local(first.sunrise).date() == day
    assert _local(first.sunset).utcoffset() == timedelta(hours=2)


def test_sun_rejects_a_place_off_the_globe() -> None:
    with pytest.raises(ValueError):
        SunCalendar(91.0, 0.0, "UTC")


def test_sun_seen_with_refraction_stands_higher() -> None:
    calendar = SunCalendar(45.187, 5.726, "Europe/Paris")
    sunset = calendar.times(date(2026, 1, 15)).sunset
    assert sunset is not None
    assert calendar.elevation_deg(sunset, refraction=True) > calendar.elevation_deg(sunset) + 0.3
