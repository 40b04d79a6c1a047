"""The `bh1750` sensor table: a ROHM BH1750 lux sensor on an I2C bus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.bh1750 import ADDRESSES, MODES, MTREG_DEFAULT, MTREG_MAX, MTREG_MIN
from edge.config.model import SensorConfig
from edge.config.reader import Table, in_range, one_of
from edge.parts.fields import i2c_address


@dataclass(frozen=True, slots=True)
class BH1750Config(SensorConfig):
    """A ROHM BH1750 lux sensor."""

    address: int = ADDRESSES[0]
    mode: str = "one_time"
    auto_range: bool = True
    mtreg: int = MTREG_DEFAULT
    driver: str = "bh1750"


def parse(t: Table, fields: dict[str, Any]) -> BH1750Config:
    """One `driver = "bh1750"` table."""
    return BH1750Config(
        **fields,
        address=i2c_address(t, "BH1750", ADDRESSES),
        mode=t.get("mode", str, "one_time", one_of(*MODES)),
        auto_range=t.get("auto_range", bool, True),
        mtreg=t.get("mtreg", int, MTREG_DEFAULT, in_range(MTREG_MIN, MTREG_MAX)),
    )
