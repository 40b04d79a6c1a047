"""Simulated water use behind a meter: daily demand with a night minimum, night-time cistern refills and
flushes, night-to-night variation, leaks, bursts, a valve."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

from drivers.sim.weather import DAY_S, HOUR_S, gauss_of, stream_key, uniform
from drivers.sim.world_spec import (
    NIGHT_DISTRIBUTIONS,
    BurstSpec,
    LeakSpec,
    MeterSpec,
    UseSpec,
)

#: Use above the night minimum, hour by hour (value at each hour o'clock, linear in between).
#: A village: morning and evening peaks, nothing above the minimum between 01:00 and 04:00.
VILLAGE_SHAPE: tuple[float, ...] = (
    0.15, 0.0, 0.0, 0.0, 0.0, 0.25, 0.9, 1.6, 1.5, 1.2, 1.0, 1.0,
    1.2, 1.0, 0.8, 0.75, 0.8, 1.0, 1.3, 1.45, 1.2, 0.9, 0.6, 0.35,
)
#: A public building: used from 06:00 to 21:00, nothing at all in between.
BUILDING_SHAPE: tuple[float, ...] = (
    0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 1.2, 1.3, 1.3, 1.4,
    1.3, 1.1, 1.2, 1.2, 1.1, 1.0, 0.5, 0.2, 0.1, 0.0, 0.0, 0.0,
)
PROFILES: dict[str, tuple[float, ...]] = {"village": VILLAGE_SHAPE, "building": BUILDING_SHAPE}
#: Day use of a public building at weekends, relative to weekdays.
BUILDING_WEEKEND_FACTOR = 0.4
#: Hours over which `day_lph` is the mean flow.
DAY_HOURS = range(6, 22)
#: Local hours between which night use (refills, flushes) happens: 22:00 to 06:00.
NIGHT_USE_START_H = 22
NIGHT_USE_END_H = 6
NIGHT_USE_S = (24 - NIGHT_USE_START_H + NIGHT_USE_END_H) * HOUR_S
#: A cistern's ball valve refills it at about 6 L/min.
CISTERN_FILL_LPH = 360.0
#: Gamma shape of a refill's volume (coefficient of variation 1/sqrt(4) = 0.5).
REFILL_SHAPE = 4.0
#: Offset of the stream that draws a night's factor and its refills and flushes.
_NIGHT_STREAM = 500_000


@dataclass(frozen=True, slots=True)
class NightUse:
    """One cistern filling at night, in local seconds since the Unix epoch (ground truth)."""

    kind: str  # "refill" | "flush"
    start_s: float
    end_s: float
    volume_l: float

    @property
    def flow_lph(self) -> float:
        """The flow while the cistern fills."""
        return CISTERN_FILL_LPH


@dataclass(frozen=True, slots=True)
class WaterEvent:
    """Ground truth: a leak or burst on a meter (end None: never repaired)."""

    kind: str
    meter: str
    start: datetime
    end: datetime | None
    rate_lph: float


def _shape_mean(shape: tuple[float, ...]) -> float:
    # Mean of the linearly interpolated shape over DAY_HOURS.
    return sum((shape[h] + shape[(h + 1) % 24]) / 2 for h in DAY_HOURS) / len(DAY_HOURS)


class MeterModel:
    """Flow through one meter: demand (night minimum + daily shape + noise), night refills and flushes, leaks
    and bursts. Every night draws a factor of mean 1 (MeterSpec.night_distribution) that scales its minimum
    flow and its rates of refills and flushes; all draws are seeded by (seed, stream, night) and reproducible."""

    def __init__(self, spec: MeterSpec, seed: int, stream: int, leaks: tuple[LeakSpec, ...] = (),
                 bursts: tuple[BurstSpec, ...] = (), uses: tuple[UseSpec, ...] = ()) -> None:
        if spec.profile not in PROFILES:
            raise ValueError(f"meter {spec.sensor!r}: unknown profile {spec.profile!r}")
        if spec.night_distribution not in NIGHT_DISTRIBUTIONS:
            raise ValueError(f"meter {spec.sensor!r}: unknown night distribution {spec.night_distribution!r}")
        self.spec = spec
        self.seed = seed
        self.stream = stream
        shape = PROFILES[spec.profile]
        mean = _shape_mean(shape)
        self._shape = tuple(v / mean for v in shape)
        self._leaks = tuple(
            (leak.start.timestamp(), math.inf if leak.end is None else leak.end.timestamp(), leak.rate_lph)
            for leak in leaks if leak.meter == spec.sensor and leak.period_min is None
        )
        self._cisterns = tuple(
            (leak.start.timestamp(), math.inf if leak.end is None else leak.end.timestamp(), leak.period_min * 60.0,
             leak.rate_lph * leak.period_min * 60.0 / CISTERN_FILL_LPH)
            for leak in leaks if leak.meter == spec.sensor and leak.period_min is not None
        )
        self._bursts = tuple(
            (b.start.timestamp(), b.end.timestamp(), b.rate_lph) for b in bursts if b.meter == spec.sensor
        )
        mine = [u for u in uses if u.meter == spec.sensor]
        self._holidays = tuple((u.start.timestamp(), u.end.timestamp()) for u in mine if u.kind == "holiday")
        self._extras = tuple((u.start.timestamp(), u.end.timestamp(), u.rate_lph) for u in mine if u.kind != "holiday")
        self._noise = spec.noise_pct / 100.0
        self._noise_key = stream_key(seed, stream)
        self._day: int | None = None
        self._night_lph = 0.0
        self._day_extra_lph = 0.0
        self._night_key = stream_key(seed, _NIGHT_STREAM + stream)
        self._has_night_use = spec.refills_per_hour > 0.0 or spec.flushes_per_night > 0.0
        self._nights: dict[int, tuple[NightUse, ...]] = {}
        self.volume_l = 0.0
        self.leak_volume_l = 0.0
        self.burst_volume_l = 0.0
        self.night_use_volume_l = 0.0
        self.extra_use_volume_l = 0.0

    def night_factor(self, night: int) -> float:
        """The night's factor of mean 1 (night: the local day it ends on, in days since the Unix epoch)."""
        cv = self.spec.night_variation_pct / 100.0
        kind = self.spec.night_distribution
        if kind == "uniform":
            return 1.0 + cv * (2.0 * uniform(self.seed, self.stream, night) - 1.0)
        if cv == 0.0:
            return 1.0
        if kind == "lognormal":
            sigma = math.sqrt(math.log1p(cv * cv))
            return math.exp(sigma * gauss_of(self._night_key, night) - sigma * sigma / 2.0)
        shape = 1.0 / (cv * cv)
        return random.Random(self._night_key ^ (night * 0x9E3779B1)).gammavariate(shape, 1.0 / shape)

    def night_lph(self, local_day: int) -> float:
        """The night's minimum flow for a local day: night_lph times the night's factor."""
        return self.spec.night_lph * self.night_factor(local_day)

    def night_uses(self, night: int) -> tuple[NightUse, ...]:
        """The refills and flushes of the night ending on local day `night` (22:00 to 06:00), in time order."""
        found = self._nights.get(night)
        if found is not None:
            return found
        spec = self.spec
        if not self._has_night_use:
            return ()
        factor = self.night_factor(night)
        rng = random.Random((self._night_key + 1) ^ (night * 0x85EBCA77))
        start_s = night * DAY_S - (24 - NIGHT_USE_START_H) * HOUR_S
        uses: list[NightUse] = []
        rate_per_s = spec.refills_per_hour * factor / HOUR_S
        at_s = 0.0
        while rate_per_s > 0.0:
            at_s += rng.expovariate(rate_per_s)
            if at_s >= NIGHT_USE_S:
                break
            volume_l = rng.gammavariate(REFILL_SHAPE, spec.refill_l / REFILL_SHAPE)
            uses.append(self._use("refill", start_s + at_s, volume_l))
        for _ in range(_poisson(rng, spec.flushes_per_night * factor)):
            uses.append(self._use("flush", start_s + rng.random() * NIGHT_USE_S, spec.flush_l))
        uses.sort(key=lambda u: u.start_s)
        if len(self._nights) > 4:
            self._nights.clear()
        self._nights[night] = found = tuple(uses)
        return found

    @staticmethod
    def _use(kind: str, start_s: float, volume_l: float) -> NightUse:
        return NightUse(kind, start_s, start_s + volume_l / CISTERN_FILL_LPH * HOUR_S, volume_l)

    def uses_between(self, start_s: float, end_s: float) -> tuple[NightUse, ...]:
        """The refills and flushes flowing at some time in [start_s, end_s) (local seconds): ground truth."""
        if not self._has_night_use:
            return ()
        # The nights whose use may touch the span: each ends on the day of its 06:00 (a use may run past it).
        first = math.ceil((start_s - NIGHT_USE_END_H * HOUR_S - HOUR_S) / DAY_S)
        last = math.floor((end_s + (24 - NIGHT_USE_START_H) * HOUR_S) / DAY_S)
        return tuple(
            use for night in range(first, last + 1) for use in self.night_uses(night)
            if use.start_s < end_s and use.end_s > start_s
        )

    def night_use_lph(self, local_s: float, dt_s: float = 0.0) -> float:
        """Refills and flushes: their flow at a local time, or averaged over the `dt_s` that follow it."""
        if not self._has_night_use:
            return 0.0
        day_s = local_s % DAY_S
        if (NIGHT_USE_END_H + 1) * HOUR_S <= day_s and day_s + dt_s < NIGHT_USE_START_H * HOUR_S:
            return 0.0  # daytime: no night use (a use begun before 06:00 ends well within the hour)
        if dt_s <= 0.0:
            return sum(u.flow_lph for u in self.uses_between(local_s, local_s + 1e-6) if u.start_s <= local_s)
        end_s = local_s + dt_s
        litres = sum(
            u.flow_lph * (min(end_s, u.end_s) - max(local_s, u.start_s)) / HOUR_S
            for u in self.uses_between(local_s, end_s)
        )
        return litres / dt_s * HOUR_S

    def _new_day(self, day: int) -> None:
        self._day = day
        self._night_lph = self.night_lph(day)
        day_lph = self.spec.day_lph
        # Unix day 0 was a Thursday: (day + 3) % 7 is 0 on Mondays.
        if self.spec.profile == "building" and (day + 3) % 7 >= 5:
            day_lph *= BUILDING_WEEKEND_FACTOR
        self._day_extra_lph = max(0.0, day_lph - self._night_lph)

    def demand_lph(self, ts_s: float, local_s: float) -> float:
        """Legitimate use at a Unix time (`local_s`: the same instant on the local clock)."""
        day = int(local_s // DAY_S)
        if day != self._day:
            self._new_day(day)
        hour_f = (local_s - day * DAY_S) / HOUR_S
        hour = int(hour_f)
        shape = self._shape[hour] + (hour_f - hour) * (self._shape[(hour + 1) % 24] - self._shape[hour])
        base = self._night_lph + self._day_extra_lph * shape
        if base <= 0.0:
            return 0.0
        return max(0.0, base * (1.0 + self._noise * gauss_of(self._noise_key, int(ts_s // 60.0))))

    def leak_lph(self, ts_s: float, dt_s: float = 0.0) -> float:
        """Flow lost through leaks at a Unix time (running cisterns: averaged over the `dt_s` that follow)."""
        flow = sum(rate for start, end, rate in self._leaks if start <= ts_s < end) if self._leaks else 0.0
        for start, end, period_s, fill_s in self._cisterns:
            if dt_s <= 0.0:
                on = start <= ts_s < end and (ts_s - start) % period_s < fill_s
                flow += CISTERN_FILL_LPH if on else 0.0
                continue
            seconds = _filling_s(ts_s + dt_s, start, end, period_s, fill_s) - _filling_s(ts_s, start, end, period_s,
                                                                                         fill_s)
            flow += CISTERN_FILL_LPH * seconds / dt_s
        return flow

    def burst_lph(self, ts_s: float) -> float:
        """Flow lost through bursts at a Unix time (valve open)."""
        return sum(rate for start, end, rate in self._bursts if start <= ts_s < end) if self._bursts else 0.0

    def on_holiday(self, ts_s: float) -> bool:
        """Whether a declared holiday stops all use at a Unix time (leaks and bursts still flow)."""
        return any(start <= ts_s < end for start, end in self._holidays) if self._holidays else False

    def extra_lph(self, ts_s: float) -> float:
        """Declared legitimate use on top of the usual (a fete, a tank filled) at a Unix time."""
        return sum(rate for start, end, rate in self._extras if start <= ts_s < end) if self._extras else 0.0

    def flow_lph(self, ts_s: float, local_s: float, valve_closed: bool) -> float:
        """Total flow through the meter; nothing flows while a valve upstream of it is closed."""
        if valve_closed and self.spec.behind_valve:
            return 0.0
        use = 0.0 if self.on_holiday(ts_s) else self.demand_lph(ts_s, local_s) + self.night_use_lph(local_s)
        return use + self.extra_lph(ts_s) + self.leak_lph(ts_s) + self.burst_lph(ts_s)

    def step(self, ts_s: float, local_s: float, valve_closed: bool, dt_s: float) -> float:
        """The mean flow over the next `dt_s` seconds, adding it to the volumes; returns flow in L/h."""
        if valve_closed and self.spec.behind_valve:
            return 0.0
        leak = self.leak_lph(ts_s, dt_s)
        burst = self.burst_lph(ts_s)
        holiday = self.on_holiday(ts_s)
        use = 0.0 if holiday else self.night_use_lph(local_s, dt_s)
        demand = 0.0 if holiday else self.demand_lph(ts_s, local_s)
        extra = self.extra_lph(ts_s)
        flow = demand + use + extra + leak + burst
        hours = dt_s / HOUR_S
        self.extra_use_volume_l += extra * hours
        self.volume_l += flow * hours
        self.leak_volume_l += leak * hours
        self.burst_volume_l += burst * hours
        self.night_use_volume_l += use * hours
        return flow


def _filling_s(t: float, start: float, end: float, period_s: float, fill_s: float) -> float:
    """Seconds a running cistern has spent filling between its start and `t` (nothing after its end)."""
    t = min(t, end)
    if t <= start:
        return 0.0
    periods, into_s = divmod(t - start, period_s)
    return periods * fill_s + min(into_s, fill_s)


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson count of the given mean (inversion; night counts are small)."""
    count, p, threshold = 0, rng.random(), math.exp(-mean)
    while p > threshold:
        count += 1
        p *= rng.random()
    return count
