"""The relay's simulated twin: a contactor and its load (lamps, heater, valve) behind a simulated GPIO output."""

from __future__ import annotations

from drivers.sim.lamp import LampCircuit
from edge.parts.relay.config import RelayConfig
from edge.simulation.box import SimBox


def attach(cfg: RelayConfig, box: SimBox) -> None:
    """A contactor on the relay's pin, its auxiliary contact on the feedback pin."""
    box.parts.lamps[cfg.id] = LampCircuit(
        box.gpio[cfg.bus], cfg.pin, cfg.feedback_pin,
        relay_active_high=cfg.active_high, feedback_active_high=cfg.feedback_active_high, lamps_w=cfg.load_w,
    )
