"""The SHT31 as the registry knows it: its live driver on an I2C bus."""

from __future__ import annotations

from typing import Any

from drivers.sht31 import RAW_FULL_SCALE, SHT31
from edge.parts.part import BuildContext, Part
from edge.parts.sht31.config import SHT31Config, parse


def build(cfg: SHT31Config, bus: Any, ctx: BuildContext) -> SHT31:
    """The driver on its bus."""
    return SHT31(bus, cfg.address, bus_name=cfg.bus, sleep=ctx.sleep, repeatability=cfg.repeatability)


def resolution(cfg: SHT31Config, reading: str) -> float:
    """One step of a raw 16-bit reading (datasheet 4.13: T = -45 + 175 S/(2^16 - 1), RH = 100 S/(2^16 - 1))."""
    span = {"temperature_c": 175.0, "relative_humidity_pct": 100.0}.get(reading, 0.0)
    return span / RAW_FULL_SCALE


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
    resolution=resolution,
    world_inputs=frozenset({"temperature", "relative_humidity"}),
)
