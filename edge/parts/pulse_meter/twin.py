"""The pulse meter's simulated twin: a reed contact closing on a simulated GPIO pin as water flows."""

from __future__ import annotations

from drivers.sim.parts import MeterPart
from drivers.sim.pulses import PulseSource
from edge.parts.pulse_meter.config import PulseMeterConfig
from edge.simulation.box import SimBox


def attach(cfg: PulseMeterConfig, box: SimBox) -> None:
    """Pulses on the meter's pin for the [simulation] table's flow."""
    source = PulseSource(box.gpio[cfg.bus], cfg.pin, box.clock, active_low=cfg.active_low)
    box.parts.meters[cfg.id] = MeterPart(source, box.start.flow_lph, cfg.step_l)
