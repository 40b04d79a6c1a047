"""The VEML7700 as the registry knows it: its live driver on an I2C bus."""

from __future__ import annotations

from typing import Any

from drivers.veml7700 import VEML7700
from edge.parts.part import BuildContext, Part
from edge.parts.veml7700.config import VEML7700Config, parse


def build(cfg: VEML7700Config, bus: Any, ctx: BuildContext) -> VEML7700:
    """The driver on its bus."""
    return VEML7700(
        bus, cfg.address, bus_name=cfg.bus, sleep=ctx.sleep,
        auto_range=cfg.auto_range, gain=cfg.gain, integration_time_ms=cfg.integration_time_ms,
    )


PART: Part[VEML7700Config] = Part(
    driver="veml7700",
    name="VEML7700",
    role="sensor",
    bus="i2c",
    config=VEML7700Config,
    parse=parse,
    build=build,
    claims=lambda cfg: (("address", cfg.address),),
    twin="edge.parts.veml7700.twin",
    readings=("illuminance_lx",),
    world_inputs=frozenset({"illuminance"}),
)
