"""A relay (or contactor coil) output on a GPIO pin, with an optional feedback contact input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpiozero import DigitalInputDevice, OutputDevice

from drivers.errors import FeedbackMismatchError

PART = "Relay"
TIME_EPSILON_S = 1e-9
"""Slack when comparing clock differences (float sums of seconds are not exact)."""


def on_off(state: bool) -> str:
    """ON/OFF as a technician reads it on a panel."""
    return "ON" if state else "OFF"


class Relay:
    """Drives a relay with a declared safe state; checks its feedback contact after settle_s."""

    part = PART

    def __init__(
        self,
        pin_factory: Any,
        pin: int,
        *,
        active_high: bool = True,
        safe_state: bool = False,
        feedback_pin: int | None = None,
        feedback_active_high: bool = True,
        settle_s: float = 0.2,
        monotonic: Callable[[], float],
        bus_name: str = "gpio",
    ) -> None:
        if pin_factory is None:
            raise ValueError("pin_factory is required (inject the board's or a simulated factory)")
        if not isinstance(pin, int) or pin < 0:
            raise ValueError(f"pin must be a GPIO number >= 0, got {pin!r}")
        if feedback_pin is not None and (not isinstance(feedback_pin, int) or feedback_pin < 0):
            raise ValueError(f"feedback_pin must be a GPIO number >= 0 or None, got {feedback_pin!r}")
        if feedback_pin == pin:
            raise ValueError(f"feedback_pin must differ from the relay pin (both GPIO{pin})")
        if settle_s < 0:
            raise ValueError(f"settle_s must be >= 0, got {settle_s}")
        if not callable(monotonic):
            raise ValueError("monotonic must be a callable returning seconds")
        self.safe_state = bool(safe_state)
        self.settle_s = settle_s
        self.bus_name = bus_name
        self.address = f"GPIO{pin}"
        self.feedback_address = None if feedback_pin is None else f"GPIO{feedback_pin}"
        self._monotonic = monotonic
        self._closed = False
        self._output = OutputDevice(
            pin, active_high=active_high, initial_value=self.safe_state, pin_factory=pin_factory
        )
        self._commanded = self.safe_state
        self._changed_at_s = monotonic()
        self._feedback: DigitalInputDevice | None = None
        if feedback_pin is not None:
            try:
                # Contact to 3.3 V needs a pull-down; contact to ground a pull-up.
                self._feedback = DigitalInputDevice(
                    feedback_pin, pull_up=not feedback_active_high, pin_factory=pin_factory
                )
            except BaseException:
                self._output.close()
                raise

    def on(self) -> None:
        """Energise the relay."""
        self.set(True)

    def off(self) -> None:
        """De-energise the relay."""
        self.set(False)

    def set(self, state: bool) -> None:
        """Command the relay; the settle time restarts only when the command changes."""
        if self._closed:
            raise ValueError(f"relay on {self.address} is closed")
        state = bool(state)
        if state != self._commanded:
            self._output.value = state
            self._commanded = state
            self._changed_at_s = self._monotonic()

    @property
    def is_on(self) -> bool:
        """The commanded state."""
        return self._commanded

    @property
    def feedback(self) -> bool | None:
        """What the feedback contact reports (True = closed), or None without feedback."""
        if self._feedback is None or self._closed:
            return None
        return bool(self._feedback.is_active)

    @property
    def settled(self) -> bool:
        """True once settle_s has passed since the last command change."""
        return self._monotonic() - self._changed_at_s >= self.settle_s - TIME_EPSILON_S

    def check(self) -> None:
        """Raise FeedbackMismatchError if, after settle_s, the feedback disagrees with the command."""
        feedback = self.feedback
        if feedback is None or not self.settled or feedback == self._commanded:
            return
        if self._commanded:
            cause = "contactor stuck open, coil not powered, or feedback wire broken"
        else:
            cause = "contactor welded or stuck closed, or feedback wire shorted"
        raise FeedbackMismatchError(
            f"commanded {on_off(self._commanded)} but feedback contact on {self.feedback_address} "
            f"reads {on_off(feedback)} after {self.settle_s} s: {cause}",
            part=self.part,
            bus=self.bus_name,
            address=self.address,
        )

    def close(self) -> None:
        """Apply the safe state, then release the pins."""
        if self._closed:
            return
        self._output.value = self.safe_state
        self._commanded = self.safe_state
        self._closed = True
        if self._feedback is not None:
            self._feedback.close()
        self._output.close()

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
