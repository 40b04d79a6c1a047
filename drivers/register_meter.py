"""A Modbus meter whose register map is declared as data (e.g. in the box config)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from drivers.reading import Reading
from drivers.registers import (
    MAX_REGISTERS_PER_READ,
    ReadBlock,
    RegisterSpec,
    check_register_map,
    decode_block,
    plan_reads,
)


class RegisterBus(Protocol):
    """What a meter needs from its Modbus line (drivers.modbus.ModbusRtuBus)."""

    name: str

    def read_registers(
        self, unit_id: int, address: int, count: int, function: str = "input", *, part: str
    ) -> list[int]:
        """Read registers or raise SensorError."""
        ...


class RegisterMeter:
    """Reads every declared register of one Modbus unit in as few requests as allowed."""

    def __init__(
        self,
        bus: RegisterBus,
        unit_id: int,
        registers: Sequence[RegisterSpec],
        *,
        part: str = "modbus-meter",
        max_registers_per_read: int = MAX_REGISTERS_PER_READ,
        read_across_gaps: bool = False,
    ) -> None:
        if not 1 <= unit_id <= 247:
            raise ValueError(f"unit_id must be within 1..247, got {unit_id}")
        if not registers:
            raise ValueError("a register meter needs at least one register")
        if not part:
            raise ValueError("part must name the meter model")
        check_register_map(registers)
        self.part = part
        self.unit_id = unit_id
        self.registers = tuple(registers)
        self._bus = bus
        self._blocks: tuple[ReadBlock, ...] = plan_reads(
            self.registers,
            max_registers=max_registers_per_read,
            read_across_gaps=read_across_gaps,
        )

    @property
    def blocks(self) -> tuple[ReadBlock, ...]:
        """The read requests one `read()` sends."""
        return self._blocks

    def read(self) -> tuple[Reading, ...]:
        """All readings, in declaration order; raises SensorError on any failure."""
        by_name: dict[str, Reading] = {}
        address = f"unit {self.unit_id}"
        for block in self._blocks:
            words = self._bus.read_registers(
                self.unit_id, block.address, block.count, block.function, part=self.part
            )
            for item in decode_block(block, words, part=self.part, bus=self._bus.name, address=address):
                by_name[item.name] = item
        return tuple(by_name[spec.name] for spec in self.registers)

    def close(self) -> None:
        """Nothing to release: the bus belongs to its owner, who closes it."""
