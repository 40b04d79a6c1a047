"""The BH1750 as the registry knows it: its live driver on an I2C bus."""

from __future__ import annotations

from typing import Any

from drivers.bh1750 import BH1750
from edge.parts.bh1750.config import BH1750Config, parse
from edge.parts.part import BuildContext, Part


def build(cfg: BH1750Config, bus: Any, ctx: BuildContext) -> BH1750:
    """The driver on its bus."""
    return BH1750(
        bus, cfg.address, bus_name=cfg.bus, sleep=ctx.sleep,
        mode=cfg.mode, auto_range=cfg.auto_range, mtreg=cfg.mtreg,
    )


PART: Part[BH1750Config] = Part(
    driver="bh1750",
    name="BH1750",
    role="sensor",
    bus="i2c",
    config=BH1750Config,
    parse=parse,
    build=build,
    claims=lambda cfg: (("address", cfg.address),),
    twin="edge.parts.bh1750.twin",
    readings=("illuminance_lx",),
    world_inputs=frozenset({"illuminance"}),
)
