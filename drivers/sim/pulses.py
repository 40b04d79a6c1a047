"""Simulated pulse output of a water meter (reed contact or Hall turbine) on a GPIO pin."""

from __future__ import annotations

from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory


class PulseSource:
    """Drives a simulated input pin like a meter's pulse output, advancing the SimClock.

    A pulse is one active period followed by one inactive period (50 % duty).
    Contact bounce: after every real edge the contact chatters `bounce_count` times,
    each chatter being a brief return to the previous level for `bounce_s` followed by
    the new level again for `bounce_s` (two extra transitions per chatter).
    """

    def __init__(self, factory: SimPinFactory, pin: int, clock: SimClock, *, active_low: bool = True) -> None:
        self._pin = factory.pin(pin)
        if not hasattr(self._pin, "drive"):
            raise ValueError("PulseSource needs a SimPinFactory (its pins can be driven from outside)")
        self._clock = clock
        self._active_level = not active_low
        self._active = False
        self._phase = 0.0
        self.pulses_emitted = 0
        self._pin.drive(not self._active_level)

    @property
    def active(self) -> bool:
        """True while the simulated contact is closed (pulse in progress)."""
        return self._active

    def emit(self, count: int, frequency_hz: float, bounce_count: int = 0, bounce_s: float = 0.0) -> None:
        """Emit `count` pulses at `frequency_hz`, optionally with contact bounce on every edge."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        if frequency_hz <= 0:
            raise ValueError(f"frequency_hz must be > 0, got {frequency_hz}")
        if bounce_count < 0 or bounce_s < 0:
            raise ValueError("bounce_count and bounce_s must be >= 0")
        half_period_s = 0.5 / frequency_hz
        chatter_s = 2 * bounce_count * bounce_s
        if chatter_s >= half_period_s:
            raise ValueError(
                f"bounce lasts {chatter_s} s, not shorter than the half period {half_period_s} s"
            )
        if self._active:
            self._set(False)
        self._phase = 0.0
        for _ in range(count):
            self._edge(True, bounce_count, bounce_s)
            self._clock.advance(half_period_s - chatter_s)
            self._edge(False, bounce_count, bounce_s)
            self._clock.advance(half_period_s - chatter_s)

    def run_flow(self, flow_lph: float, duration_s: float, litres_per_pulse: float) -> None:
        """Let water flow at `flow_lph` for `duration_s`, one pulse per `litres_per_pulse`.

        The contact is closed during the second half of each litres_per_pulse of water, so
        the phase carries over between calls and changing the flow keeps volumes exact.
        """
        if flow_lph < 0 or duration_s < 0:
            raise ValueError("flow_lph and duration_s must be >= 0")
        if litres_per_pulse <= 0:
            raise ValueError(f"litres_per_pulse must be > 0, got {litres_per_pulse}")
        pulses_per_s = flow_lph / 3600.0 / litres_per_pulse
        if pulses_per_s == 0.0:
            self._clock.advance(duration_s)
            return
        remaining_s = duration_s
        while True:
            target = 0.5 if self._phase < 0.5 else 1.0
            step_s = (target - self._phase) / pulses_per_s
            if step_s > remaining_s:
                self._clock.advance(remaining_s)
                self._phase += remaining_s * pulses_per_s
                return
            self._clock.advance(step_s)
            remaining_s -= step_s
            if target == 0.5:
                self._phase = 0.5
                self._set(True)
            else:
                self._phase = 0.0
                self._set(False)

    def _edge(self, active: bool, bounce_count: int, bounce_s: float) -> None:
        self._set(active)
        for _ in range(bounce_count):
            self._clock.advance(bounce_s)
            self._set(not active, count=False)
            self._clock.advance(bounce_s)
            self._set(active, count=False)

    def _set(self, active: bool, *, count: bool = True) -> None:
        if active and count and not self._active:
            self.pulses_emitted += 1
        self._active = active
        self._pin.drive(active == self._active_level)
