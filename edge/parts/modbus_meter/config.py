"""The `modbus_meter` sensor table: any Modbus RTU meter, with its register map in `[[sensors.registers]]`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.reading import UNITS
from drivers.registers import RegisterSpec
from edge.config.model import SensorConfig
from edge.config.reader import Table, in_range, one_of
from edge.parts.fields import unit_id

DATA_TYPES: tuple[str, ...] = ("uint16", "int16", "uint32", "int32", "float32")


@dataclass(frozen=True, slots=True)
class ModbusMeterConfig(SensorConfig):
    """A Modbus meter whose register map is declared in the config."""

    unit_id: int
    registers: tuple[RegisterSpec, ...]
    part: str = "modbus-meter"
    driver: str = "modbus_meter"


def _register(t: Table) -> RegisterSpec | None:
    name = t.get("name", str)
    quantity = t.get("quantity", str, check=one_of(*UNITS))
    fields = dict(
        address=t.get("address", int, check=in_range(0, 0xFFFF)),
        function=t.get("function", str, "holding", one_of("input", "holding")),
        data_type=t.get("data_type", str, "uint16", one_of(*DATA_TYPES)),
        word_order=t.get("word_order", str, "big", one_of("big", "little")),
        scale=t.get("scale", float, 1.0),
        min_value=t.optional("min_value", float),
        max_value=t.optional("max_value", float),
    )
    t.done()
    if not t.ok:
        return None
    try:
        return RegisterSpec(name=name, quantity=quantity, **fields)
    except ValueError as exc:
        t.fail("name", str(exc))
        return None


def parse(t: Table, fields: dict[str, Any]) -> ModbusMeterConfig:
    """One `driver = "modbus_meter"` table with at least one register, each name once."""
    registers = tuple(r for r in (_register(rt) for _, rt in t.tables("registers")) if r is not None)
    if t.ok and not registers and "registers" not in t.raw:
        t.fail("registers", "a modbus_meter needs at least one [[sensors.registers]] entry")
    names = [r.name for r in registers]
    for name in sorted({n for n in names if names.count(n) > 1}):
        t.fail("registers", f"register name {name!r} is used twice")
    return ModbusMeterConfig(
        **fields, unit_id=unit_id(t), registers=registers, part=t.get("part", str, "modbus-meter")
    )
