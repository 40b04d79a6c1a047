"""Simulated weather: daylight (sun, moon, clouds, storms) and outdoor temperature, seeded and fast."""

from __future__ import annotations

import bisect
import math

from drivers.sim.world_spec import LightSpec, OutdoorSpec

_MASK64 = (1 << 64) - 1
HOUR_S = 3600.0
DAY_S = 86400.0

#: Clear-sky horizontal illuminance against apparent sun elevation (degrees, lx), from the usual
#: almanac tables: ~3 lx at civil dusk, ~400 lx at sunset, ~100,000 lx with the sun high.
CLEAR_SKY_LX: tuple[tuple[float, float], ...] = (
    (-18.0, 0.0007),
    (-12.0, 0.008),
    (-6.0, 3.4),
    (-4.0, 22.0),
    (-2.0, 110.0),
    (-0.833, 400.0),
    (0.0, 700.0),
    (5.0, 4500.0),
    (10.0, 11000.0),
    (20.0, 27000.0),
    (30.0, 45000.0),
    (45.0, 70000.0),
    (60.0, 90000.0),
    (90.0, 105000.0),
)
_ELEVATIONS = tuple(e for e, _ in CLEAR_SKY_LX)
_LOG_LX = tuple(math.log(lx) for _, lx in CLEAR_SKY_LX)
#: Night light with no moon (airglow, stars, distant towns) and the extra from a full moon.
NIGHT_LX = 0.1
FULL_MOON_LX = 0.2
SYNODIC_MONTH_S = 29.530588 * DAY_S
#: A new moon: 2000-01-06 18:14 UTC.
NEW_MOON_TS = 947182440.0
#: How much a storm or cold snap fades in and out (seconds).
STORM_RAMP_S = 15 * 60.0
SNAP_RAMP_S = 6 * 3600.0
#: Hour-to-hour spread of cloud cover around the day's cover.
HOURLY_CLOUD_SPREAD = 0.3
#: The coldest day of the year, counted from 1 January (mid-January in the northern hemisphere).
COLDEST_DAY = 14.0
#: The warmest hour of the day (local), the coldest being twelve hours earlier.
WARMEST_HOUR = 15.0


def _mix(x: int) -> int:
    x = (x + 0x9E3779B97F4A7C15) & _MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    return x ^ (x >> 31)


def stream_key(seed: int, stream: int) -> int:
    """What uniform and gauss draw from for (seed, stream): work it out once for a stream drawn often."""
    return _mix((seed * 0x100000001B3 + stream) & _MASK64)


def uniform(seed: int, stream: int, index: int) -> float:
    """A reproducible number in [0, 1) for (seed, stream, index): random access, no state."""
    return uniform_of(stream_key(seed, stream), index)


def uniform_of(key: int, index: int) -> float:
    """uniform(seed, stream, index) from stream_key(seed, stream)."""
    return (_mix(key ^ (index & _MASK64)) >> 11) / 9007199254740992.0


def gauss(seed: int, stream: int, index: int) -> float:
    """A reproducible standard normal number for (seed, stream, index) (Box-Muller)."""
    return gauss_of(stream_key(seed, stream), index)


def gauss_of(key: int, index: int) -> float:
    """gauss(seed, stream, index) from stream_key(seed, stream)."""
    u1 = 1.0 - uniform_of(key, 2 * index)
    u2 = uniform_of(key, 2 * index + 1)
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)


def smoothstep(f: float) -> float:
    """0 at 0, 1 at 1, with zero slope at both ends."""
    return f * f * (3.0 - 2.0 * f)


def clear_sky_illuminance_lx(elevation_deg: float) -> float:
    """Sunlight and skylight on a horizontal surface under a clear sky (no moon), in lx."""
    if elevation_deg <= _ELEVATIONS[0]:
        return CLEAR_SKY_LX[0][1]
    if elevation_deg >= _ELEVATIONS[-1]:
        return CLEAR_SKY_LX[-1][1]
    i = bisect.bisect_right(_ELEVATIONS, elevation_deg)
    e0, e1 = _ELEVATIONS[i - 1], _ELEVATIONS[i]
    f = (elevation_deg - e0) / (e1 - e0)
    return math.exp(_LOG_LX[i - 1] + f * (_LOG_LX[i] - _LOG_LX[i - 1]))


def moon_fraction(ts_s: float) -> float:
    """Illuminated fraction of the moon's disc (0 new, 1 full), from the mean synodic month."""
    phase = ((ts_s - NEW_MOON_TS) % SYNODIC_MONTH_S) / SYNODIC_MONTH_S
    return 0.5 * (1.0 - math.cos(2.0 * math.pi * phase))


def cloud_transmission(cover: float) -> float:
    """Fraction of clear-sky light that passes a cloud cover of 0..1 (Kasten and Czeplak)."""
    return 1.0 - 0.75 * cover**3.4


class LightModel:
    """Outdoor illuminance: clear sky for the sun's elevation, moonlight, clouds and storms.

    Cloud cover is drawn per day (mean `cloud_cover`) and varied per hour, then smoothed
    between hours; everything is a function of time, so any instant can be asked again.
    """

    STREAM = 1

    def __init__(self, spec: LightSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        mean = min(max(spec.cloud_cover, 0.0), 1.0)
        # u**k has mean 1/(k+1): a day's cover is drawn so that covers average `cloud_cover`.
        self._exponent = 1.0 / mean - 1.0 if mean > 0.0 else math.inf
        self._storms = tuple((s.start.timestamp(), s.end.timestamp(), s.light_pct / 100.0) for s in spec.storms)
        self._hour: int | None = None
        self._cover0 = 0.0
        self._cover1 = 0.0

    def _hour_cover(self, hour: int) -> float:
        if self._exponent == math.inf:
            return 0.0
        day_cover = uniform(self.seed, self.STREAM, hour // 24) ** self._exponent
        jitter = HOURLY_CLOUD_SPREAD * (uniform(self.seed, self.STREAM + 1, hour) - 0.5)
        return min(1.0, max(0.0, day_cover + jitter))

    def cloud_cover(self, ts_s: float) -> float:
        """Cloud cover (0 clear .. 1 overcast) at a Unix time."""
        hour = int(ts_s // HOUR_S)
        if hour != self._hour:
            self._hour = hour
            self._cover0 = self._hour_cover(hour)
            self._cover1 = self._hour_cover(hour + 1)
        f = smoothstep(ts_s / HOUR_S - hour)
        return self._cover0 + f * (self._cover1 - self._cover0)

    def storm_weight(self, ts_s: float) -> tuple[float, float]:
        """How far a storm holds the sky (0..1, fading in and out) and its light fraction."""
        for start, end, fraction in self._storms:
            if start - STORM_RAMP_S < ts_s < end + STORM_RAMP_S:
                weight = min(1.0, (ts_s - start) / STORM_RAMP_S + 1.0, (end - ts_s) / STORM_RAMP_S + 1.0)
                return max(0.0, weight), fraction
        return 0.0, 1.0

    def illuminance_lx(self, ts_s: float, elevation_deg: float) -> float:
        """Outdoor horizontal illuminance at a Unix time for the given sun elevation."""
        clear = clear_sky_illuminance_lx(elevation_deg) + NIGHT_LX + FULL_MOON_LX * moon_fraction(ts_s)
        transmission = cloud_transmission(self.cloud_cover(ts_s))
        if self._storms:
            weight, fraction = self.storm_weight(ts_s)
            if weight > 0.0:
                transmission += weight * (fraction - transmission)
        return clear * transmission


class OutdoorModel:
    """Outdoor air temperature: yearly and daily cycles, day-to-day weather, cold snaps.

    Times are local seconds (Unix time plus the zone's UTC offset), so the daily cycle
    peaks at WARMEST_HOUR on the box's clock.
    """

    STREAM = 10

    def __init__(self, spec: OutdoorSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self._snaps = tuple((s.start.timestamp(), s.end.timestamp(), s.temperature_c) for s in spec.cold_snaps)
        self._day: int | None = None
        self._mean0 = 0.0
        self._mean1 = 0.0

    def _day_mean(self, day: int) -> float:
        spec = self.spec
        # Unix day 0 was 1 January 1970; the phase drifts by less than a day over decades.
        season = math.cos(2.0 * math.pi * ((day - COLDEST_DAY) % 365.2422) / 365.2422)
        weather = spec.day_to_day_c * gauss(self.seed, self.STREAM, day)
        return spec.annual_mean_c - spec.annual_swing_c * season + weather

    def daily_mean_c(self, local_s: float) -> float:
        """The day's mean temperature, gliding from one day to the next (before cold snaps)."""
        position = local_s / DAY_S - 0.5
        day = math.floor(position)
        if day != self._day:
            self._day = day
            self._mean0 = self._day_mean(day)
            self._mean1 = self._day_mean(day + 1)
        return self._mean0 + smoothstep(position - day) * (self._mean1 - self._mean0)

    def temperature_c(self, ts_s: float, local_s: float) -> float:
        """Outdoor temperature at a Unix time (`local_s` is the same instant on the local clock)."""
        hour = (local_s % DAY_S) / HOUR_S
        cycle = self.spec.daily_swing_c * math.cos(2.0 * math.pi * (hour - WARMEST_HOUR) / 24.0)
        mean = self.daily_mean_c(local_s)
        for start, end, snap_c in self._snaps:
            if start - SNAP_RAMP_S < ts_s < end + SNAP_RAMP_S:
                weight = max(0.0, min(1.0, (ts_s - start) / SNAP_RAMP_S + 1.0, (end - ts_s) / SNAP_RAMP_S + 1.0))
                mean += smoothstep(weight) * (snap_c - mean)
                break
        return mean + cycle
