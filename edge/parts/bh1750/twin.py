"""The BH1750's simulated twin: a chip answering its opcodes on the simulated I2C bus."""

from __future__ import annotations

from drivers.sim.bh1750 import SimBH1750
from edge.parts.bh1750.config import BH1750Config
from edge.simulation.box import SimBox


def attach(cfg: BH1750Config, box: SimBox) -> None:
    """Put a simulated BH1750 at its address, lit as the [simulation] table says."""
    box.attach_i2c(cfg.id, cfg.bus, cfg.address, SimBH1750(box.clock.monotonic, illuminance_lx=box.start.illuminance_lx))
