"""A contact on a GPIO input (a fire brigade's key switch, a door contact), read as active or not."""

from __future__ import annotations

from typing import Any

from gpiozero import DigitalInputDevice

from drivers.reading import Reading, reading

PART = "DigitalInput"
#: The pin's bias: the Pi's internal pull-up or pull-down, or none ("floating": an outside resistor).
PULLS: dict[str, bool | None] = {"up": True, "down": False, "floating": None}


class DigitalInput:
    """One contact on a GPIO input; `active_high` says which level means active.

    With a pull-up, a contact to ground reads low when closed: a normally-open switch is active low, a
    normally-closed one active high (it opens when turned); with a pull-down the other way round.
    gpiozero takes the active level only for a floating pin, so for a pulled one it is applied here.
    """

    part = PART

    def __init__(self, pin_factory: Any, pin: int, *, pull: str = "up", active_high: bool = False,
                 bus_name: str = "gpio") -> None:
        if pin_factory is None:
            raise ValueError("pin_factory is required (inject the board's or a simulated factory)")
        if not isinstance(pin, int) or pin < 0:
            raise ValueError(f"pin must be a GPIO number >= 0, got {pin!r}")
        if pull not in PULLS:
            raise ValueError(f"pull must be one of {', '.join(PULLS)}, got {pull!r}")
        self.bus_name = bus_name
        self.address = f"GPIO{pin}"
        pull_up = PULLS[pull]
        if pull_up is None:
            self._device = DigitalInputDevice(pin, pull_up=None, active_state=active_high, pin_factory=pin_factory)
            self._invert = False
        else:
            # gpiozero: with a pull-up, active means low; with a pull-down, active means high.
            self._device = DigitalInputDevice(pin, pull_up=pull_up, pin_factory=pin_factory)
            self._invert = active_high == pull_up

    @property
    def active(self) -> bool:
        """Whether the contact is in its active state now."""
        return bool(self._device.is_active) != self._invert

    def read(self) -> tuple[Reading, ...]:
        """`active`: 1.0 while the contact is active, 0.0 otherwise."""
        return (reading("active", "state", 1.0 if self.active else 0.0),)

    def close(self) -> None:
        """Release the pin."""
        self._device.close()
