"""The digital input's simulated twin: a contact driving a simulated GPIO pin, turned by the world."""

from __future__ import annotations

from drivers.sim.switch import SwitchContact
from edge.parts.digital_input.config import DigitalInputConfig
from edge.simulation.box import SimBox


def attach(cfg: DigitalInputConfig, box: SimBox) -> None:
    """A contact on the input's pin, inactive at first."""
    box.parts.switches[cfg.id] = SwitchContact(box.gpio[cfg.bus].pin(cfg.pin), active_high=cfg.active_high)
