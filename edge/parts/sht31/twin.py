"""The SHT31's simulated twin: a chip answering its command words on the simulated I2C bus."""

from __future__ import annotations

from drivers.sim.sht31 import SimSHT31
from edge.parts.sht31.config import SHT31Config
from edge.simulation.box import SimBox


def attach(cfg: SHT31Config, box: SimBox) -> None:
    """Put a simulated SHT31 at its address, in the air the [simulation] table describes."""
    chip = SimSHT31(
        box.clock.monotonic, temperature_c=box.start.temperature_c,
        relative_humidity_pct=box.start.relative_humidity_pct,
    )
    box.attach_i2c(cfg.id, cfg.bus, cfg.address, chip)
