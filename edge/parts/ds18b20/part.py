"""The DS18B20 as the registry knows it: its live driver on a 1-Wire bus."""

from __future__ import annotations

from typing import Any

from drivers.ds18b20 import DS18B20, LSB_C
from edge.parts.ds18b20.config import DS18B20Config, parse
from edge.parts.part import BuildContext, Part


def build(cfg: DS18B20Config, bus: Any, ctx: BuildContext) -> DS18B20:
    """The driver on its bus."""
    return DS18B20(bus, cfg.rom_id)


def resolution(cfg: DS18B20Config, reading: str) -> float:
    """One step of the 12-bit temperature register (its power-on resolution): 1/16 °C."""
    return LSB_C if reading == "temperature_c" else 0.0


PART: Part[DS18B20Config] = Part(
    driver="ds18b20",
    name="DS18B20",
    role="sensor",
    bus="onewire",
    config=DS18B20Config,
    parse=parse,
    build=build,
    claims=lambda cfg: (("rom_id", cfg.rom_id),),
    twin="edge.parts.ds18b20.twin",
    readings=("temperature_c",),
    resolution=resolution,
    world_inputs=frozenset({"temperature"}),
)
