"""The astronomical clock's verdicts a mutation run (bench/mutation.py) found untested.

Oracles: astral's sunrise and sunset (an independent library) at the box; Paris is UTC+1 in
January, so 23:30 UTC on 1 January is already 2 January at the box; Tromsø (69.65° N) has the
midnight sun on 21 June.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral import sun as astral_sun

from edge.controllers.sun import SunCalendar

PARIS = ZoneInfo("Europe/Paris")


def test_sun_local_date_is_the_box_date() -> None:
    calendar = SunCalendar(45.187, 5.726, "Europe/Paris")
    assert calendar.local_date(datetime(2026, 1, 1, 23, 30, tzinfo=UTC)) == date(2026, 1, 2)


def test_sun_polar_day_is_not_night() -> None:
    verdict = SunCalendar(69.65, 18.96, "Europe/Oslo").verdict(datetime(2026, 6, 21, 0, 0, tzinfo=UTC))
    assert (verdict.night, verdict.basis, verdict.at) == (False, "polar day", None)


def test_sun_verdict_carries_its_offset() -> None:
    calendar = SunCalendar(45.187, 5.726, "Europe/Paris")
    day = date(2026, 1, 15)
    observer = Observer(45.187, 5.726)
    sunrise = astral_sun.sunrise(observer, day, PARIS).astimezone(UTC)
    sunset = astral_sun.sunset(observer, day, PARIS).astimezone(UTC)
    morning = calendar.verdict(sunrise + timedelta(minutes=20), sunrise_offset_min=30, sunset_offset_min=-20)
    assert (morning.night, morning.basis, morning.offset_min) == (True, "sunrise", 30)
    assert abs((morning.at - (sunrise + timedelta(minutes=30))).total_seconds()) < 1
    evening = calendar.verdict(sunset - timedelta(minutes=10), sunrise_offset_min=30, sunset_offset_min=-20)
    assert (evening.night, evening.basis, evening.offset_min) == (True, "sunset", -20)
    assert abs((evening.at - (sunset - timedelta(minutes=20))).total_seconds()) < 1
    daytime = calendar.verdict(sunset - timedelta(minutes=30), sunset_offset_min=-20)
    assert (daytime.night, daytime.basis, daytime.offset_min) == (False, "sunset", -20)


def test_sun_places_on_the_whole_globe() -> None:
    for latitude, longitude in ((-90, -180), (90, 180), (0, 0)):
        SunCalendar(latitude, longitude, "UTC")
    for latitude, longitude in ((-90.5, 0), (90.5, 0), (0, -180.5), (0, 180.5)):
        with pytest.raises(ValueError, match=f"^no place at latitude {latitude}, longitude {longitude}$"):
            SunCalendar(latitude, longitude, "UTC")


def test_sun_edge_of_the_polar_season_is_not_polar() -> None:
    # Tromsø, 14 May 2026: the sun sets (23:35) but does not rise again before midnight.
    times = SunCalendar(69.65, 18.96, "Europe/Oslo").times(date(2026, 5, 14))
    assert times.date == date(2026, 5, 14)
    assert (times.sunrise, times.polar) == (None, None)
    assert times.sunset is not None
