"""Simulated GPIO: a gpiozero MockFactory whose pins live on an injected clock."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from gpiozero.exc import PinFixedPull, PinInvalidPull
from gpiozero.pins.mock import MockFactory, MockPin, PinState

STATE_HISTORY = 1000
"""How many past states each simulated pin keeps in `states` (bounded for long runs)."""

PinObserver = Callable[[bool], None]


class SimPin(MockPin):
    """A MockPin that timestamps edges with the factory clock and reports changes to observers."""

    def __init__(self, factory: SimPinFactory, info: object) -> None:
        self._observers: list[PinObserver] = []
        self._external: bool | None = None
        super().__init__(factory, info)

    def add_observer(self, callback: PinObserver) -> None:
        """Call `callback(state)` after every level change and every function change."""
        self._observers.append(callback)

    def remove_observer(self, callback: PinObserver) -> None:
        """Stop calling `callback` (ignored if it was not registered)."""
        if callback in self._observers:
            self._observers.remove(callback)

    def drive(self, level: bool | None) -> None:
        """Drive the pin from outside the Pi (a sensor output); None releases it to its pull."""
        self._external = level
        if self._function == "input":
            self._apply_input_level()

    @property
    def external_level(self) -> bool | None:
        """The level an outside circuit drives onto this pin, or None when released."""
        return self._external

    def output_with_state(self, state: bool) -> None:
        """Switch to output already at `state`, without a blip (like lgpio's atomic claim)."""
        before = self._function
        self._function = "output"
        if not self._change_state(bool(state)) and before != "output":
            self._notify()

    def clear_states(self) -> None:
        """Forget the state history (kept bounded to STATE_HISTORY entries)."""
        self._last_change = self._factory.ticks()
        self.states = deque([PinState(0.0, self._state)], maxlen=STATE_HISTORY)

    def _change_state(self, value: bool) -> bool:
        if self._state == value:
            return False
        now = self._factory.ticks()
        self._state = value
        self.states.append(PinState(now - self._last_change, value))
        self._last_change = now
        self._notify()
        return True

    def _set_function(self, value: str) -> None:
        before = self._function
        super()._set_function(value)
        if value != before:
            self._notify()

    def _set_pull(self, value: str) -> None:
        # Same checks as MockPin, but an outside driver wins over the pull resistor.
        if self._function != "input":
            raise PinFixedPull(f"cannot set pull on non-input pin {self!r}")
        if self.info.pull and value != self.info.pull:
            raise PinFixedPull(f"{self!r} has a fixed pull resistor")
        if value not in ("floating", "up", "down"):
            raise PinInvalidPull("pull must be floating, up, or down")
        self._pull = value
        self._apply_input_level()

    def _apply_input_level(self) -> None:
        level = self._external
        if level is None:
            level = {"up": True, "down": False}.get(self._pull)
        if level is True:
            self.drive_high()
        elif level is False:
            self.drive_low()

    def _notify(self) -> None:
        for callback in tuple(self._observers):
            callback(self._state)


class SimPinFactory(MockFactory):
    """MockFactory whose pins (SimPin) and ticks() follow `clock` instead of real monotonic()."""

    def __init__(self, clock: Callable[[], float]) -> None:
        if not callable(clock):
            raise ValueError("clock must be a callable returning seconds")
        self._clock = clock
        super().__init__(pin_class=SimPin)

    def ticks(self) -> float:  # type: ignore[override]
        """Current time of the injected clock, in seconds."""
        return self._clock()

    def ticks_diff(self, later: float, earlier: float) -> float:  # type: ignore[override]
        """Seconds between two ticks() values."""
        return later - earlier

    def pin(self, name: object, pin_class: type[MockPin] | None = None, **kwargs: object) -> SimPin:
        """The simulated pin `name` (e.g. 17 or "GPIO17"), created on first use."""
        return super().pin(name, pin_class=pin_class, **kwargs)
