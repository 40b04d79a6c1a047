"""The SHT31 as the registry knows it: its live driver on an I2C bus."""

from __future__ import annotations

from typing import Any

from drivers.sht31 import SHT31
from edge.parts.part import BuildContext, Part
from edge.parts.sht31.config import SHT31Config, parse


def build(cfg: SHT31Config, bus: Any, ctx: BuildContext) -> SHT31:
    """The driver on its bus."""
    return SHT31(bus, cfg.address, bus_name=cfg.bus, sleep=ctx.sleep, repeatability=cfg.repeatability)


PART: Part[SHT31Config] = Part(
    driver="sht31",
    name="SHT31",
    role="sensor",
    bus="i2c",
    config=SHT31Config,
    parse=parse,
    build=build,
    claims=lambda cfg: (("address", cfg.address),),
    twin="edge.parts.sht31.twin",
    readings=("temperature_c", "relative_humidity_pct"),
    world_inputs=frozenset({"temperature", "relative_humidity"}),
)
