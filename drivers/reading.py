"""Typed readings: every value carries its quantity and unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

UNITS: dict[str, str] = {
    "illuminance": "lx",
    "temperature": "°C",
    "relative_humidity": "%",
    "volume": "L",
    "flow_rate": "L/h",
    "pulse_count": "1",
    "voltage": "V",
    "current": "A",
    "active_power": "W",
    "apparent_power": "VA",
    "reactive_power": "var",
    "power_factor": "1",
    "frequency": "Hz",
    "active_energy": "kWh",
    "reactive_energy": "kvarh",
    "pressure": "hPa",
    "count": "1",
    "state": "1",
}


@dataclass(frozen=True, slots=True)
class Reading:
    """One measured value: `name` carries the unit suffix, e.g. `illuminance_lx`."""

    name: str
    quantity: str
    value: float
    unit: str

    def __post_init__(self) -> None:
        expected = UNITS.get(self.quantity)
        if expected is None:
            raise ValueError(f"unknown quantity {self.quantity!r}")
        if self.unit != expected:
            raise ValueError(f"{self.quantity} is measured in {expected}, not {self.unit}")

    def to_dict(self) -> dict[str, str | float]:
        """Plain-data form for JSON output."""
        return {"name": self.name, "quantity": self.quantity, "value": self.value, "unit": self.unit}


_new = object.__new__
_set_name = Reading.name.__set__  # type: ignore[attr-defined]
_set_quantity = Reading.quantity.__set__  # type: ignore[attr-defined]
_set_value = Reading.value.__set__  # type: ignore[attr-defined]
_set_unit = Reading.unit.__set__  # type: ignore[attr-defined]


def reading(name: str, quantity: str, value: float) -> Reading:
    """Build a reading in the standard unit of its quantity."""
    number = float(value)
    unit = UNITS[quantity]
    # The unit comes from UNITS, so Reading's check cannot fail: skip it (drivers build many readings).
    result = _new(Reading)
    _set_name(result, name)
    _set_quantity(result, quantity)
    _set_value(result, number)
    _set_unit(result, unit)
    return result


class Sensor(Protocol):
    """What the edge agent needs from any sensor driver."""

    part: str

    def read(self) -> tuple[Reading, ...]:
        """Take one measurement (may block for the conversion time) or raise SensorError."""
        ...
