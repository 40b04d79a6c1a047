"""Fast solar position (NOAA algorithm) for simulated years: sun elevation at any instant."""

from __future__ import annotations

import math
from dataclasses import dataclass

UNIX_EPOCH_JD = 2440587.5
J2000_JD = 2451545.0
DAY_S = 86400.0
#: Civil twilight ends when the sun's centre is this far below the horizon.
CIVIL_DUSK_DEG = -6.0


@dataclass(frozen=True, slots=True)
class SunDay:
    """The sun's declination and equation of time at a UTC instant (they drift slowly)."""

    declination_rad: float
    equation_of_time_min: float


def sun_day(ts_s: float) -> SunDay:
    """Declination and equation of time at a Unix time (NOAA spreadsheet formulas)."""
    jc = (ts_s / DAY_S + UNIX_EPOCH_JD - J2000_JD) / 36525.0
    mean_long = math.radians((280.46646 + jc * (36000.76983 + 0.0003032 * jc)) % 360.0)
    mean_anom = math.radians(357.52911 + jc * (35999.05029 - 0.0001537 * jc))
    ecc = 0.016708634 - jc * (0.000042037 + 0.0000001267 * jc)
    centre = (
        math.sin(mean_anom) * (1.914602 - jc * (0.004817 + 0.000014 * jc))
        + math.sin(2 * mean_anom) * (0.019993 - 0.000101 * jc)
        + math.sin(3 * mean_anom) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * jc)
    apparent_long = math.radians(math.degrees(mean_long) + centre - 0.00569 - 0.00478 * math.sin(omega))
    mean_obliquity = 23.0 + (26.0 + (21.448 - jc * (46.815 + jc * (0.00059 - jc * 0.001813))) / 60.0) / 60.0
    obliquity = math.radians(mean_obliquity + 0.00256 * math.cos(omega))
    declination = math.asin(math.sin(obliquity) * math.sin(apparent_long))
    y = math.tan(obliquity / 2) ** 2
    eot_rad = (
        y * math.sin(2 * mean_long)
        - 2 * ecc * math.sin(mean_anom)
        + 4 * ecc * y * math.sin(mean_anom) * math.cos(2 * mean_long)
        - 0.5 * y * y * math.sin(4 * mean_long)
        - 1.25 * ecc * ecc * math.sin(2 * mean_anom)
    )
    return SunDay(declination, 4.0 * math.degrees(eot_rad))


def refraction_deg(elevation_deg: float) -> float:
    """Atmospheric refraction lifting the sun's apparent elevation (NOAA approximation)."""
    e = elevation_deg
    if e > 85.0:
        return 0.0
    if e > 5.0:
        t = math.tan(math.radians(e))
        arcsec = 58.1 / t - 0.07 / t**3 + 0.000086 / t**5
    elif e > -0.575:
        arcsec = 1735.0 + e * (-518.2 + e * (103.4 + e * (-12.79 + e * 0.711)))
    else:
        arcsec = -20.774 / math.tan(math.radians(e))
    return arcsec / 3600.0


def _elevation(
    ts_s: float, declination_rad: float, eot_min: float, sin_lat: float, cos_lat: float, longitude: float,
    refraction: bool,
) -> float:
    minutes = (ts_s % DAY_S) / 60.0
    true_solar_min = (minutes + eot_min + 4.0 * longitude) % 1440.0
    hour_angle = math.radians(true_solar_min / 4.0 - 180.0)
    cos_zenith = sin_lat * math.sin(declination_rad) + cos_lat * math.cos(declination_rad) * math.cos(hour_angle)
    elevation = math.degrees(math.asin(max(-1.0, min(1.0, cos_zenith))))
    return elevation + refraction_deg(elevation) if refraction else elevation


def solar_elevation_deg(ts_s: float, latitude: float, longitude: float, *, refraction: bool = True) -> float:
    """Apparent elevation of the sun's centre above the horizon at a Unix time (degrees)."""
    lat = math.radians(latitude)
    day = sun_day(ts_s)
    return _elevation(
        ts_s, day.declination_rad, day.equation_of_time_min, math.sin(lat), math.cos(lat), longitude, refraction
    )


class SunTracker:
    """Sun elevation for one place, with declination and equation of time cached per UTC day.

    Within a day both are interpolated linearly between the two midnights, which keeps the
    error far below 0.01 degree while costing one cosine and one arcsine per call.
    """

    def __init__(self, latitude: float, longitude: float) -> None:
        if not -90.0 <= latitude <= 90.0 or not -180.0 <= longitude <= 180.0:
            raise ValueError(f"no such place: latitude {latitude}, longitude {longitude}")
        lat = math.radians(latitude)
        self.latitude = latitude
        self.longitude = longitude
        self._sin_lat = math.sin(lat)
        self._cos_lat = math.cos(lat)
        self._day_index: int | None = None
        self._start = SunDay(0.0, 0.0)
        self._end = SunDay(0.0, 0.0)
        # The world and the report both ask for each simulated instant: remember the last answer.
        self._last: tuple[float, float] | None = None

    def elevation_deg(self, ts_s: float) -> float:
        """Apparent sun elevation (with refraction) at a Unix time, in degrees."""
        last = self._last
        if last is not None and last[0] == ts_s:
            return last[1]
        elevation = self._elevation_deg(ts_s)
        self._last = (ts_s, elevation)
        return elevation

    def _elevation_deg(self, ts_s: float) -> float:
        day_index = int(ts_s // DAY_S)
        if day_index != self._day_index:
            self._day_index = day_index
            self._start = sun_day(day_index * DAY_S)
            self._end = sun_day((day_index + 1) * DAY_S)
        f = ts_s / DAY_S - day_index
        start, end = self._start, self._end
        declination = start.declination_rad + f * (end.declination_rad - start.declination_rad)
        eot_min = start.equation_of_time_min + f * (end.equation_of_time_min - start.equation_of_time_min)
        return _elevation(ts_s, declination, eot_min, self._sin_lat, self._cos_lat, self.longitude, True)

    def is_civil_night(self, ts_s: float) -> bool:
        """Whether the sun is more than 6 degrees below the horizon (after civil dusk)."""
        return self.elevation_deg(ts_s) < CIVIL_DUSK_DEG
