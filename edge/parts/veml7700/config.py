"""The `veml7700` sensor table: a Vishay VEML7700 lux sensor on an I2C bus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.veml7700 import ADDRESSES, GAIN_BITS, IT_BITS
from edge.config.model import SensorConfig
from edge.config.reader import Table, one_of
from edge.parts.fields import i2c_address


@dataclass(frozen=True, slots=True)
class VEML7700Config(SensorConfig):
    """A Vishay VEML7700 lux sensor."""

    address: int = ADDRESSES[0]
    auto_range: bool = True
    gain: float = 0.125
    integration_time_ms: int = 100
    driver: str = "veml7700"


def parse(t: Table, fields: dict[str, Any]) -> VEML7700Config:
    """One `driver = "veml7700"` table."""
    return VEML7700Config(
        **fields,
        address=i2c_address(t, "VEML7700", ADDRESSES),
        auto_range=t.get("auto_range", bool, True),
        gain=t.get("gain", float, 0.125, one_of(*sorted(GAIN_BITS))),
        integration_time_ms=t.get("integration_time_ms", int, 100, one_of(*sorted(IT_BITS))),
    )
