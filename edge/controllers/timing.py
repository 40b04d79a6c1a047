"""Time rules shared by controllers: minimum on/off times, confirmation delays, clock sanity, local days.

All times here are epoch seconds (floats), so controller states stay JSON-ready.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

T = TypeVar("T")
SECONDS_PER_DAY = 86_400

#: A box without a real-time clock boots in the past until NTP answers; before this date the
#: wall clock is not trusted for calendar rules (cut-off windows, schedules, sun times).
CLOCK_PLAUSIBLE_FROM = datetime(2025, 1, 1, tzinfo=UTC)


def epoch_s(at: datetime) -> float:
    """Epoch seconds of a timezone-aware time."""
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.timestamp()


def not_after(at_s: float | None, now_s: float) -> float | None:
    """A past time stamp, pulled back to `now_s` if the clock jumped backwards since it was taken."""
    if at_s is None:
        return None
    return min(at_s, now_s)


def fmt_duration(duration_s: float) -> str:
    """A duration as a technician reads it: '45 s', '3 min', '2 h 05 min'."""
    if duration_s < 120:
        return f"{max(0.0, duration_s):.0f} s"
    minutes = round(duration_s / 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def fmt_wait(wait_s: float) -> str:
    """Time left, rounded up to the minute above one minute ('40 s', '3 min')."""
    if wait_s < 60:
        return f"{math.ceil(wait_s):.0f} s"
    return f"{math.ceil(wait_s / 60)} min"


def condition_since(since_s: float | None, holds: bool, now_s: float) -> float | None:
    """When a condition started holding without a break: kept while it holds, None once it breaks."""
    if not holds:
        return None
    since_s = not_after(since_s, now_s)
    return now_s if since_s is None else since_s


def held_for(since_s: float | None, now_s: float, delay_s: float) -> bool:
    """Whether a condition holding since `since_s` has held for at least `delay_s`."""
    return since_s is not None and now_s - since_s >= delay_s


@dataclass(frozen=True, slots=True)
class MinimumTimes:
    """How long a relay must stay on, and off, once switched (spares contactors and heaters)."""

    on_s: float = 0.0
    off_s: float = 0.0

    def __post_init__(self) -> None:
        if self.on_s < 0 or self.off_s < 0:
            raise ValueError("minimum times must be >= 0")

    def wait_s(self, current: bool | None, changed_at_s: float | None, desired: bool | None, now_s: float) -> float:
        """Seconds left before a relay that is `current` may become `desired` (0: at once)."""
        if current is None or desired is None or desired == current or changed_at_s is None:
            return 0.0
        minimum = self.on_s if current else self.off_s
        return max(0.0, minimum - max(0.0, now_s - changed_at_s))


@dataclass(frozen=True, slots=True)
class SwitchStep:
    """One step of a relay under minimum times: what to command now, and what was held back."""

    on: bool | None
    changed_at_s: float | None
    changed: bool
    wait_s: float

    @property
    def held(self) -> bool:
        """The wish differs from the command because a minimum time is not over."""
        return self.wait_s > 0


def step_switch(
    current: bool | None,
    changed_at_s: float | None,
    desired: bool | None,
    now_s: float,
    times: MinimumTimes,
    *,
    immediate: bool = False,
) -> SwitchStep:
    """Move a relay toward `desired`, unless a minimum time holds it (never with `immediate`).

    `immediate` is for a restart: the relay went through its safe state while the agent was
    down, so its last recorded change no longer describes the contactor.
    """
    changed_at_s = not_after(changed_at_s, now_s)
    wait = 0.0 if immediate else times.wait_s(current, changed_at_s, desired, now_s)
    if wait > 0:
        return SwitchStep(current, changed_at_s, False, wait)
    if desired == current and changed_at_s is not None:
        return SwitchStep(current, changed_at_s, False, 0.0)
    return SwitchStep(desired, now_s, desired != current, 0.0)


@dataclass(frozen=True, slots=True)
class LocalDay:
    """One local date at the box, bounded by its midnights in epoch seconds."""

    date: date
    start_s: float
    end_s: float

    @property
    def uniform(self) -> bool:
        """A day of exactly 24 h (no clock change): local time is start plus elapsed seconds."""
        return self.end_s - self.start_s == SECONDS_PER_DAY

    def at_s(self, minute: int, zone: ZoneInfo) -> float:
        """Epoch seconds of a local wall-clock minute of this day (1440: the next midnight)."""
        if self.uniform or minute == 0:
            return self.start_s + minute * 60
        if minute >= 1440:
            return self.end_s
        return datetime.combine(self.date, time(minute // 60, minute % 60), tzinfo=zone).timestamp()


def local_day(day: date, zone: ZoneInfo) -> LocalDay:
    """A local date with its midnights as epoch seconds."""
    start = datetime.combine(day, time(0), tzinfo=zone).timestamp()
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).timestamp()
    return LocalDay(day, start, end)


class DayCache(Generic[T]):
    """Data derived once per local date (schedules, sun times), found from epoch seconds.

    On a 24-hour day the current date is recognised without a time-zone conversion; on the two
    clock-change days of a year every lookup converts.
    """

    def __init__(self, zone: ZoneInfo, build: Callable[[LocalDay], T], *, keep: int = 4) -> None:
        self.zone = zone
        self._build = build
        self._keep = max(2, keep)
        self._by_date: dict[date, tuple[LocalDay, T]] = {}
        self._current: tuple[LocalDay, T] | None = None

    def at(self, now: datetime, now_s: float) -> tuple[LocalDay, T]:
        """The local day holding `now` (epoch seconds `now_s`) and its data."""
        current = self._current
        if current is not None:
            day = current[0]
            if day.start_s <= now_s < day.end_s and day.end_s - day.start_s == SECONDS_PER_DAY:
                return current
        current = self.on(now.astimezone(self.zone).date())
        self._current = current
        return current

    def on(self, day: date) -> tuple[LocalDay, T]:
        """A given local date and its data."""
        entry = self._by_date.get(day)
        if entry is None:
            local = local_day(day, self.zone)
            entry = (local, self._build(local))
            if len(self._by_date) >= self._keep:
                self._by_date.clear()
            self._by_date[day] = entry
        return entry
