"""The `sht31` sensor table: a Sensirion SHT31 temperature and humidity sensor on an I2C bus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.sht31 import ADDRESSES, MEASURE_COMMANDS
from edge.config.model import SensorConfig
from edge.config.reader import Table, one_of
from edge.parts.fields import i2c_address


@dataclass(frozen=True, slots=True)
class SHT31Config(SensorConfig):
    """A Sensirion SHT31 temperature and humidity sensor."""

    address: int = ADDRESSES[0]
    repeatability: str = "high"
    driver: str = "sht31"


def parse(t: Table, fields: dict[str, Any]) -> SHT31Config:
    """One `driver = "sht31"` table."""
    return SHT31Config(
        **fields,
        address=i2c_address(t, "SHT31", ADDRESSES),
        repeatability=t.get("repeatability", str, "high", one_of(*MEASURE_COMMANDS)),
    )
