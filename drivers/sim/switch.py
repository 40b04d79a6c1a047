"""A simulated contact (a key switch) wired to a simulated GPIO input."""

from __future__ import annotations

from drivers.sim.gpio import SimPin


class SwitchContact:
    """Drives its pin to the active level while active, to the other level otherwise; unplugged, lets it float."""

    def __init__(self, pin: SimPin, *, active_high: bool) -> None:
        self.pin = pin
        self.active_high = active_high
        self.active = False
        self.connected = True
        self._drive()

    def set(self, active: bool) -> None:
        """Turn the switch (True: active)."""
        if active != self.active:
            self.active = active
            self._drive()

    def plug(self, connected: bool) -> None:
        """Connect or disconnect the switch's wires (disconnected: the pin follows its pull)."""
        self.connected = connected
        self._drive()

    def _drive(self) -> None:
        self.pin.drive(self.active == self.active_high if self.connected else None)
