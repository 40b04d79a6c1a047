"""A manual clock for simulated time: `sleep` advances it instead of waiting."""

from __future__ import annotations

import threading


class SimClock:
    """Monotonic seconds that move only when slept on or advanced; thread-safe."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        """Current simulated time in seconds."""
        with self._lock:
            return self._now_s

    def sleep(self, duration_s: float) -> None:
        """Advance simulated time by `duration_s` (negative durations are ignored)."""
        self.advance(max(0.0, duration_s))

    def advance(self, duration_s: float) -> None:
        """Move simulated time forward."""
        if duration_s < 0:
            raise ValueError("simulated time cannot go backwards")
        with self._lock:
            self._now_s += duration_s

    __call__ = monotonic
