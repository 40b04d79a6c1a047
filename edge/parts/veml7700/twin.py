"""The VEML7700's simulated twin: a chip with its registers on the simulated I2C bus."""

from __future__ import annotations

from drivers.sim.veml7700 import SimVEML7700
from edge.parts.veml7700.config import VEML7700Config
from edge.simulation.box import SimBox


def attach(cfg: VEML7700Config, box: SimBox) -> None:
    """Put a simulated VEML7700 at its address, lit as the [simulation] table says."""
    chip = SimVEML7700(box.clock.monotonic, illuminance_lx=box.start.illuminance_lx)
    box.attach_i2c(cfg.id, cfg.bus, cfg.address, chip)
