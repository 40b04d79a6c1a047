"""Eastron SDM-series Modbus energy meters: what every model shares but its register map."""

from __future__ import annotations

from typing import ClassVar

from drivers.reading import Reading
from drivers.register_meter import RegisterBus, RegisterMeter
from drivers.registers import RegisterSpec

#: Eastron limit: 40 parameters (80 registers) per request; reserved registers read as 0.
MAX_REGISTERS_PER_READ = 80


class EastronMeter:
    """An Eastron meter on a Modbus RTU line, read from its model's float32 input registers."""

    part: ClassVar[str]
    registers: ClassVar[tuple[RegisterSpec, ...]]

    def __init__(self, bus: RegisterBus, unit_id: int = 1) -> None:
        self._meter = RegisterMeter(
            bus,
            unit_id,
            self.registers,
            part=self.part,
            max_registers_per_read=MAX_REGISTERS_PER_READ,
            read_across_gaps=True,
        )
        self.unit_id = unit_id

    def read(self) -> tuple[Reading, ...]:
        """All readings of the register map (two requests); raises SensorError."""
        return self._meter.read()

    def close(self) -> None:
        """Nothing to release: the bus belongs to its owner."""
        self._meter.close()
