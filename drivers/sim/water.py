"""Simulated water use behind a meter: daily demand with a night minimum, leaks, bursts, a valve."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from drivers.sim.weather import DAY_S, HOUR_S, gauss_of, stream_key, uniform
from drivers.sim.world_spec import BurstSpec, LeakSpec, MeterSpec

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
    """Flow through one meter: demand (night minimum + daily shape + noise) plus leaks and bursts."""

    def __init__(self, spec: MeterSpec, seed: int, stream: int, leaks: tuple[LeakSpec, ...] = (),
                 bursts: tuple[BurstSpec, ...] = ()) -> None:
        if spec.profile not in PROFILES:
            raise ValueError(f"meter {spec.sensor!r}: unknown profile {spec.profile!r}")
        self.spec = spec
        self.seed = seed
        self.stream = stream
        shape = PROFILES[spec.profile]
        mean = _shape_mean(shape)
        self._shape = tuple(v / mean for v in shape)
        self._leaks = tuple(
            (leak.start.timestamp(), math.inf if leak.end is None else leak.end.timestamp(), leak.rate_lph)
            for leak in leaks if leak.meter == spec.sensor
        )
        self._bursts = tuple(
            (b.start.timestamp(), b.end.timestamp(), b.rate_lph) for b in bursts if b.meter == spec.sensor
        )
        self._noise = spec.noise_pct / 100.0
        self._noise_key = stream_key(seed, stream)
        self._day: int | None = None
        self._night_lph = 0.0
        self._day_extra_lph = 0.0
        self.volume_l = 0.0
        self.leak_volume_l = 0.0
        self.burst_volume_l = 0.0

    def night_lph(self, local_day: int) -> float:
        """The night's minimum flow for a local day (night-to-night spread within ± night_variation_pct)."""
        spread = self.spec.night_variation_pct / 100.0 * (2.0 * uniform(self.seed, self.stream, local_day) - 1.0)
        return self.spec.night_lph * (1.0 + spread)

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

    def leak_lph(self, ts_s: float) -> float:
        """Flow lost through leaks at a Unix time."""
        return sum(rate for start, end, rate in self._leaks if start <= ts_s < end) if self._leaks else 0.0

    def burst_lph(self, ts_s: float) -> float:
        """Flow lost through bursts at a Unix time (valve open)."""
        return sum(rate for start, end, rate in self._bursts if start <= ts_s < end) if self._bursts else 0.0

    def flow_lph(self, ts_s: float, local_s: float, valve_closed: bool) -> float:
        """Total flow through the meter; nothing flows while a valve upstream of it is closed."""
        if valve_closed and self.spec.behind_valve:
            return 0.0
        return self.demand_lph(ts_s, local_s) + self.leak_lph(ts_s) + self.burst_lph(ts_s)

    def step(self, ts_s: float, local_s: float, valve_closed: bool, dt_s: float) -> float:
        """The flow for the next `dt_s` seconds, adding it to the volumes; returns flow in L/h."""
        if valve_closed and self.spec.behind_valve:
            return 0.0
        leak = self.leak_lph(ts_s)
        burst = self.burst_lph(ts_s)
        flow = self.demand_lph(ts_s, local_s) + leak + burst
        hours = dt_s / HOUR_S
        self.volume_l += flow * hours
        self.leak_volume_l += leak * hours
        self.burst_volume_l += burst * hours
        return flow
