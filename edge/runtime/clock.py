"""The agent's clock: wall time, monotonic time and sleep, injected everywhere."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """What the agent needs to know about time."""

    def now(self) -> datetime:
        """Wall time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps."""
        ...

    def sleep(self, duration_s: float) -> None:
        """Wait (or, in simulation, let time pass)."""
        ...


class SystemClock:
    """The real clock of the box."""

    def now(self) -> datetime:
        """Wall time from the system clock, UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """time.monotonic()."""
        return time.monotonic()

    def sleep(self, duration_s: float) -> None:
        """time.sleep()."""
        time.sleep(max(0.0, duration_s))
