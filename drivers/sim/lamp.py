"""A simulated street-lamp circuit: contactor coil on a relay pin, auxiliary contact on a feedback pin."""

from __future__ import annotations

from drivers.sim.gpio import SimPinFactory

FAULTS = (None, "stuck_open", "welded")


class LampCircuit:
    """Lamps behind a contactor whose coil follows the relay output pin.

    The coil is energised only while the relay pin is an output at its active level
    (relay boards hold the coil off while the GPIO is an input). The auxiliary contact
    follows the main contact and drives the feedback input pin.
    """

    def __init__(
        self,
        factory: SimPinFactory,
        relay_pin: int,
        feedback_pin: int | None,
        *,
        relay_active_high: bool = True,
        feedback_active_high: bool = True,
        lamps_w: float = 0.0,
    ) -> None:
        if lamps_w < 0:
            raise ValueError(f"lamps_w must be >= 0, got {lamps_w}")
        if feedback_pin is not None and feedback_pin == relay_pin:
            raise ValueError("feedback_pin must differ from relay_pin")
        self.lamps_w = lamps_w
        self._relay_active_high = relay_active_high
        self._feedback_active_high = feedback_active_high
        self._fault: str | None = None
        self._closed_contact = False
        self.operations = 0
        self._relay_pin = factory.pin(relay_pin)
        self._feedback_pin = None if feedback_pin is None else factory.pin(feedback_pin)
        self._relay_pin.add_observer(self._on_relay_pin)
        self._update()

    @property
    def fault(self) -> str | None:
        """None, "stuck_open" (contactor never closes) or "welded" (never opens)."""
        return self._fault

    @fault.setter
    def fault(self, kind: str | None) -> None:
        if kind not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {kind!r}")
        self._fault = kind
        self._update()

    @property
    def coil_energised(self) -> bool:
        """True while the relay output drives the contactor coil."""
        pin = self._relay_pin
        return pin.function == "output" and bool(pin.state) == self._relay_active_high

    @property
    def lit(self) -> bool:
        """True while the main contact is closed and the lamps are powered."""
        return self._closed_contact

    @property
    def power_w(self) -> float:
        """Electrical power drawn by the lamps now."""
        return self.lamps_w if self._closed_contact else 0.0

    def close(self) -> None:
        """Disconnect from the relay pin and release the feedback pin."""
        self._relay_pin.remove_observer(self._on_relay_pin)
        if self._feedback_pin is not None:
            self._feedback_pin.drive(None)

    def _on_relay_pin(self, state: bool) -> None:
        self._update()

    def _update(self) -> None:
        if self._fault == "stuck_open":
            closed = False
        elif self._fault == "welded":
            closed = True
        else:
            closed = self.coil_energised
        if closed and not self._closed_contact:
            self.operations += 1
        self._closed_contact = closed
        if self._feedback_pin is not None:
            self._feedback_pin.drive(closed == self._feedback_active_high)
