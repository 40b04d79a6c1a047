"""The `sdm120` and `sdm630` sensor tables: Eastron energy meters on a Modbus RTU line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.config.model import SensorConfig
from edge.config.reader import Table
from edge.parts.fields import unit_id


@dataclass(frozen=True, slots=True)
class EastronConfig(SensorConfig):
    """An Eastron SDM-series energy meter; `driver` says which model ("sdm120" or "sdm630")."""

    unit_id: int = 1
    driver: str = "sdm120"


def parse(t: Table, fields: dict[str, Any]) -> EastronConfig:
    """One `driver = "sdm120"` or `driver = "sdm630"` table."""
    return EastronConfig(**fields, unit_id=unit_id(t))
