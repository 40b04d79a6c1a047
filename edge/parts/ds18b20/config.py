"""The `ds18b20` sensor table: a Maxim DS18B20 thermometer on the kernel's 1-Wire bus."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from drivers.ds18b20 import FAMILY_CODE
from edge.config.model import SensorConfig
from edge.config.reader import Invalid, Table

ROM_ID_PATTERN = re.compile(rf"^{FAMILY_CODE}-[0-9a-f]{{12}}$")


@dataclass(frozen=True, slots=True)
class DS18B20Config(SensorConfig):
    """A Maxim DS18B20 1-Wire thermometer."""

    rom_id: str
    driver: str = "ds18b20"


def check_rom_id(value: str) -> None:
    """A DS18B20's kernel name: family 28, then its 48-bit serial in lower-case hex."""
    if not ROM_ID_PATTERN.match(value):
        raise Invalid(f"{value!r} is not a DS18B20 id like '{FAMILY_CODE}-0316a2794aff' (family {FAMILY_CODE})")


def parse(t: Table, fields: dict[str, Any]) -> DS18B20Config:
    """One `driver = "ds18b20"` table."""
    return DS18B20Config(**fields, rom_id=t.get("rom_id", str, check=check_rom_id))
