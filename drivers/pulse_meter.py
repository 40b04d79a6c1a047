"""Pulse-output water meters (reed contacts, Hall turbines such as the YF-S201) on a GPIO pin."""

from __future__ import annotations

import threading
from typing import Any

from drivers.reading import Reading, reading

PART = "PulseMeter"
SECONDS_PER_HOUR = 3600.0


def litres_per_pulse_of(litres_per_pulse: float | None, pulses_per_litre: float | None) -> float:
    """The meter constant in litres per pulse, from exactly one of the two usual forms."""
    if (litres_per_pulse is None) == (pulses_per_litre is None):
        raise ValueError("give exactly one of litres_per_pulse or pulses_per_litre")
    if litres_per_pulse is not None:
        if not litres_per_pulse > 0:
            raise ValueError(f"litres_per_pulse must be > 0, got {litres_per_pulse}")
        return float(litres_per_pulse)
    assert pulses_per_litre is not None
    if not pulses_per_litre > 0:
        raise ValueError(f"pulses_per_litre must be > 0, got {pulses_per_litre}")
    return 1.0 / pulses_per_litre


def pulses_to_litres(
    pulses: int, *, litres_per_pulse: float | None = None, pulses_per_litre: float | None = None
) -> float:
    """Volume of `pulses` pulses; divides by pulses_per_litre when given (450 pulses at 450/L is exactly 1 L)."""
    litres_per_pulse_of(litres_per_pulse, pulses_per_litre)
    if pulses_per_litre is not None:
        return pulses / pulses_per_litre
    assert litres_per_pulse is not None
    return pulses * litres_per_pulse


def litres_to_pulses(volume_l: float, litres_per_pulse: float) -> float:
    """Number of pulses (possibly fractional) a meter gives for `volume_l` litres."""
    return volume_l / litres_per_pulse


def flow_lph_from_period(litres_per_pulse: float, period_s: float | None, age_s: float) -> float:
    """Flow from the period between pulses, decaying as 1/age when no pulse came for longer than a period.

    `age_s` is the time since the last pulse: no pulse for `age_s` means the flow is at
    most one pulse's volume over `age_s`, so the estimate falls towards zero.
    """
    if period_s is None or period_s <= 0:
        return 0.0
    return litres_per_pulse * SECONDS_PER_HOUR / max(period_s, age_s)


def period_from_pulses(first_s: float, last_s: float, pulses: int) -> float | None:
    """Mean period of `pulses` pulses, the first at `first_s` and the last at `last_s` (None if < 2)."""
    if pulses < 2 or last_s <= first_s:
        return None
    return (last_s - first_s) / (pulses - 1)


class PulseMeter:
    """Counts debounced pulses of a meter wired to a GPIO input; gives volume, flow and count."""

    part = PART

    def __init__(
        self,
        pin_factory: Any,
        pin: int,
        *,
        litres_per_pulse: float | None = None,
        pulses_per_litre: float | None = None,
        debounce_s: float = 0.0005,
        active_low: bool = True,
        pull_up: bool = True,
        initial_total_l: float = 0.0,
        bus_name: str = "gpio",
    ) -> None:
        if pin_factory is None:
            raise ValueError("pin_factory is required (inject the board's or a simulated factory)")
        if not isinstance(pin, int) or pin < 0:
            raise ValueError(f"pin must be a GPIO number >= 0, got {pin!r}")
        if debounce_s < 0:
            raise ValueError(f"debounce_s must be >= 0, got {debounce_s}")
        if initial_total_l < 0:
            raise ValueError(f"initial_total_l must be >= 0, got {initial_total_l}")
        self.litres_per_pulse = litres_per_pulse_of(litres_per_pulse, pulses_per_litre)
        self._given_lpp = litres_per_pulse
        self._given_ppl = pulses_per_litre
        self.debounce_s = debounce_s
        self.bus_name = bus_name
        self.address = f"GPIO{pin}"
        self._active_level = not active_low
        self._factory = pin_factory
        self._lock = threading.Lock()
        self._count = 0
        self._base_total_l = float(initial_total_l)
        self._base_count = 0
        self._last_pulse: float | None = None
        self._prev_pulse: float | None = None
        self._window_first: float | None = None
        self._window_count = 0
        self._period_s: float | None = None
        self._closed = False
        pin_factory.reserve_pins(self, self.address)
        try:
            self._pin = pin_factory.pin(pin)
            self._pin.function = "input"
            self._pin.pull = "up" if pull_up else "down"
            self._pin.edges = "both"
            self._stable = bool(self._pin.state)
            self._pending: bool | None = None
            self._pending_since = pin_factory.ticks()
            self._pin.when_changed = self._on_edge
        except BaseException:
            pin_factory.release_pins(self, self.address)
            raise

    def _conflicts_with(self, other: object) -> bool:
        # gpiozero asks reservers this: a meter input shares its pin with nobody.
        return True

    def _on_edge(self, ticks: float, state: int | bool) -> None:
        with self._lock:
            if self._pending is not None and self._factory.ticks_diff(ticks, self._pending_since) >= self.debounce_s:
                self._commit()
            self._pending = bool(state)
            self._pending_since = ticks

    def _commit(self) -> None:
        level = self._pending
        self._pending = None
        if level is None or level == self._stable:
            return
        self._stable = level
        if level == self._active_level:
            self._count += 1
            self._window_count += 1
            if self._window_first is None:
                self._window_first = self._pending_since
            self._prev_pulse = self._last_pulse
            self._last_pulse = self._pending_since

    def _settle(self, now: float) -> None:
        if self._pending is not None and self._factory.ticks_diff(now, self._pending_since) >= self.debounce_s:
            self._commit()

    @property
    def pulse_count(self) -> int:
        """Debounced pulses counted since start."""
        with self._lock:
            self._settle(self._factory.ticks())
            return self._count

    @property
    def total_l(self) -> float:
        """Running total volume in litres."""
        with self._lock:
            self._settle(self._factory.ticks())
            return self._total_locked()

    def set_total_l(self, total_l: float) -> None:
        """Set the running total (e.g. to the meter's index after installation)."""
        if total_l < 0:
            raise ValueError(f"total_l must be >= 0, got {total_l}")
        with self._lock:
            self._settle(self._factory.ticks())
            self._base_total_l = float(total_l)
            self._base_count = self._count

    def _total_locked(self) -> float:
        pulses = self._count - self._base_count
        return self._base_total_l + pulses_to_litres(
            pulses, litres_per_pulse=self._given_lpp, pulses_per_litre=self._given_ppl
        )

    def read(self) -> tuple[Reading, ...]:
        """Total volume, flow since the last read (or from the last pulse period), pulse count."""
        with self._lock:
            now = self._factory.ticks()
            self._settle(now)
            flow_lph = self._flow_locked(now)
            return (
                reading("volume_total_l", "volume", self._total_locked()),
                reading("flow_lph", "flow_rate", flow_lph),
                reading("pulse_count", "pulse_count", self._count),
            )

    def _flow_locked(self, now: float) -> float:
        # Fast meters: mean period over the pulses since the last read; slow meters
        # (at most one pulse since the last read): the period between the last two pulses.
        ticks_diff = self._factory.ticks_diff
        if self._window_count >= 2 and self._window_first is not None and self._last_pulse is not None:
            span_s = ticks_diff(self._last_pulse, self._window_first)
            self._period_s = period_from_pulses(0.0, span_s, self._window_count) or self._period_s
        elif self._window_count == 1 and self._prev_pulse is not None and self._last_pulse is not None:
            self._period_s = ticks_diff(self._last_pulse, self._prev_pulse)
        self._window_count = 0
        self._window_first = None
        if self._last_pulse is None:
            return 0.0
        return flow_lph_from_period(self.litres_per_pulse, self._period_s, ticks_diff(now, self._last_pulse))

    def close(self) -> None:
        """Stop counting and release the pin."""
        if self._closed:
            return
        self._closed = True
        self._pin.when_changed = None
        self._pin.close()
        self._factory.release_pins(self, self.address)

    def __enter__(self) -> PulseMeter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
