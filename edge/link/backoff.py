"""Reconnect delays: exponential backoff with full jitter, the random source injected."""

from __future__ import annotations

from collections.abc import Callable


class Backoff:
    """Delays before each reconnect attempt: uniform in [min_s, min(max_s, min_s * 2**n)] after n failures.

    Full jitter spreads a village of boxes that lost the broker at the same moment; the floor keeps a box
    from hammering a broker that refuses it at once.
    """

    def __init__(self, min_s: float, max_s: float, random: Callable[[], float]) -> None:
        if not 0 < min_s <= max_s:
            raise ValueError(f"backoff needs 0 < min_s <= max_s, got {min_s!r}, {max_s!r}")
        self.min_s = min_s
        self.max_s = max_s
        self._random = random
        self.failures = 0

    def ceiling_s(self) -> float:
        """The longest the next delay may be."""
        return min(self.max_s, self.min_s * 2.0 ** min(self.failures, 64))

    def next_delay_s(self) -> float:
        """The delay before the next attempt; each call counts one more failure."""
        ceiling = self.ceiling_s()
        self.failures += 1
        return self.min_s + self._random() * (ceiling - self.min_s)

    def reset(self) -> None:
        """A connection held: the next failure starts again from min_s."""
        self.failures = 0
