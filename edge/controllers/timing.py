"""Time rules shared by controllers: minimum on/off times, confirmation delays, clock sanity.

All times here are epoch seconds (floats), so controller states stay JSON-ready.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

#: A box without a real-time clock boots in the past until NTP answers; before this date the
#: wall clock is not trusted for calendar rules (cut-off windows, schedules, sun times).
CLOCK_PLAUSIBLE_FROM = datetime(2025, 1, 1, tzinfo=UTC)


def epoch_s(at: datetime) -> float:
    """Epoch seconds of a timezone-aware time."""
    if at.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return at.timestamp()


def clock_plausible(now: datetime) -> bool:
    """Whether the wall clock looks set (not a fresh boot without RTC or NTP)."""
    return now >= CLOCK_PLAUSIBLE_FROM


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
