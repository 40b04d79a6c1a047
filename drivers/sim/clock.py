"""A manual clock for simulated time: `sleep` advances it instead of waiting."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class SimClock:
    """Monotonic seconds that move only when slept on or advanced; thread-safe.

    `now()` gives the matching wall time: `epoch` plus the simulated seconds.
    """

    def __init__(self, start_s: float = 0.0, *, epoch: datetime = EPOCH, boot_id: str = "sim-boot-1") -> None:
        if epoch.tzinfo is None:
            raise ValueError("epoch must be timezone-aware")
        self._boot_id = boot_id
        self._synced = True
        self._now_s = start_s
        self._epoch = epoch
        self._lock = threading.Lock()
        self._wall: tuple[float, datetime] | None = None  # the last now(), kept while time stands still

    def monotonic(self) -> float:
        """Current simulated time in seconds."""
        with self._lock:
            return self._now_s

    def now(self) -> datetime:
        """Current simulated wall time (timezone-aware, UTC)."""
        with self._lock:
            wall = self._wall
            if wall is None or wall[0] != self._now_s:
                wall = self._wall = (self._now_s, (self._epoch + timedelta(seconds=self._now_s)).astimezone(UTC))
            return wall[1]

    def sleep(self, duration_s: float) -> None:
        """Advance simulated time by `duration_s` (negative durations are ignored)."""
        self.advance(max(0.0, duration_s))

    def advance(self, duration_s: float) -> None:
        """Move simulated time forward."""
        if duration_s < 0:
            raise ValueError("simulated time cannot go backwards")
        with self._lock:
            self._now_s += duration_s

    def advance_to(self, when: datetime) -> None:
        """Move simulated time forward to a wall time (no-op if already past it)."""
        with self._lock:
            target_s = (when - self._epoch).total_seconds()
            self._now_s = max(self._now_s, target_s)

    def synced(self) -> bool:
        """Whether the simulated box's wall time counts as synchronised (True unless set otherwise)."""
        return self._synced

    def set_synced(self, synced: bool) -> None:
        """Say whether the wall time is synchronised."""
        self._synced = synced

    def boot_id(self) -> str:
        """The simulated boot's id."""
        return self._boot_id

    __call__ = monotonic
