"""Sunrise, sunset and sun elevation at the box, computed with astral, cached per local date.

The box's `elevation_m` is its altitude above sea level, not its height above the visible
horizon, so it is not given to astral (which would dip the horizon and move sunset by minutes).
Polar days and nights have no sunrise or sunset: `SunTimes.polar` says which, and the
astronomical clock is then "day all day" or "night all day".
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from astral import Observer
from astral import sun as astral_sun

from edge.config.model import DeviceConfig

#: Centre of the sun at this elevation: sunrise and sunset (refraction and the sun's radius).
HORIZON_DEG = -0.833
#: Civil twilight ends (evening) or begins (morning) with the sun this far below the horizon.
CIVIL_TWILIGHT_DEG = -6.0


@dataclass(frozen=True, slots=True)
class SunTimes:
    """The sun on one local date at the box (times in UTC; None on polar days and nights)."""

    date: date
    sunrise: datetime | None
    sunset: datetime | None
    noon: datetime
    #: "day" (sun never sets), "night" (sun never rises) or None.
    polar: str | None = None


@dataclass(frozen=True, slots=True)
class SunVerdict:
    """Whether it is night for the astronomical clock, and the sun time that says so."""

    night: bool
    #: "sunset", "sunrise", "polar night", "polar day" or "elevation".
    basis: str
    #: The sun time (with its offset applied, UTC) behind the verdict, if any.
    at: datetime | None
    offset_min: float = 0.0


class SunCalendar:
    """Sun times for a fixed place, computed with astral and kept for a few recent dates."""

    def __init__(
        self, latitude: float, longitude: float, timezone: str, *, cache_days: int = 8
    ) -> None:
        if not -90 <= latitude <= 90 or not -180 <= longitude <= 180:
            raise ValueError(f"no place at latitude {latitude}, longitude {longitude}")
        self.zone = ZoneInfo(timezone)
        self._observer = Observer(latitude=latitude, longitude=longitude)
        self._cache: OrderedDict[date, SunTimes] = OrderedDict()
        self._cache_days = max(1, cache_days)

    @classmethod
    def for_device(cls, device: DeviceConfig) -> SunCalendar:
        """The calendar at a box's latitude, longitude and time zone."""
        return cls(device.latitude, device.longitude, device.timezone)

    def times(self, day: date) -> SunTimes:
        """Sunrise, noon and sunset on a local date."""
        cached = self._cache.get(day)
        if cached is not None:
            self._cache.move_to_end(day)
            return cached
        result = self._compute(day)
        self._cache[day] = result
        while len(self._cache) > self._cache_days:
            self._cache.popitem(last=False)
        return result

    def _compute(self, day: date) -> SunTimes:
        noon = astral_sun.noon(self._observer, day, self.zone).astimezone(UTC)
        sunrise = self._event(astral_sun.sunrise, day)
        sunset = self._event(astral_sun.sunset, day)
        polar = None
        if sunrise is None and sunset is None:
            polar = "day" if self.elevation_deg(noon) > HORIZON_DEG else "night"
        return SunTimes(day, sunrise, sunset, noon, polar)

    def _event(self, function: Callable[..., datetime], day: date) -> datetime | None:
        try:
            return function(self._observer, day, self.zone).astimezone(UTC)
        except ValueError:
            # astral: "Sun never reaches the horizon on this day, at this location."
            return None

    def elevation_deg(self, at: datetime, *, refraction: bool = False) -> float:
        """Elevation of the sun's centre above the horizon (degrees): geometric, or as seen with refraction.

        Sunrise, sunset and twilights are defined on the geometric elevation (-0.833°, -6°).
        """
        return float(astral_sun.elevation(self._observer, at.astimezone(UTC), with_refraction=refraction))

    def is_civil_night(self, at: datetime) -> bool:
        """Darker than civil twilight (sun's centre more than 6° below the horizon)."""
        return self.elevation_deg(at) < CIVIL_TWILIGHT_DEG

    def local_date(self, at: datetime) -> date:
        """The date at the box when it is `at`."""
        return at.astimezone(self.zone).date()

    def verdict(self, at: datetime, *, sunset_offset_min: float = 0.0, sunrise_offset_min: float = 0.0) -> SunVerdict:
        """Night between sunset + offset and the next sunrise + offset (positive offsets: later)."""
        times = self.times(self.local_date(at))
        if times.polar == "night":
            return SunVerdict(True, "polar night", None)
        if times.polar == "day":
            return SunVerdict(False, "polar day", None)
        if times.sunrise is None or times.sunset is None:
            # A day at the edge of the polar season: only one of the two exists; ask the sun itself.
            return SunVerdict(self.elevation_deg(at) < HORIZON_DEG, "elevation", None)
        sunrise = times.sunrise + timedelta(minutes=sunrise_offset_min)
        sunset = times.sunset + timedelta(minutes=sunset_offset_min)
        if at < sunrise:
            return SunVerdict(True, "sunrise", sunrise, sunrise_offset_min)
        if at >= sunset:
            return SunVerdict(True, "sunset", sunset, sunset_offset_min)
        return SunVerdict(False, "sunset", sunset, sunset_offset_min)

    def is_night(self, at: datetime, *, sunset_offset_min: float = 0.0, sunrise_offset_min: float = 0.0) -> bool:
        """Whether the astronomical clock says night at `at`."""
        return self.verdict(at, sunset_offset_min=sunset_offset_min, sunrise_offset_min=sunrise_offset_min).night
