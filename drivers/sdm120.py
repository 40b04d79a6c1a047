"""Eastron SDM120-Modbus single-phase energy meter."""

from __future__ import annotations

from drivers.eastron import MAX_REGISTERS_PER_READ, EastronMeter
from drivers.registers import RegisterSpec

__all__ = ["MAX_REGISTERS_PER_READ", "PART", "REGISTERS", "SDM120"]

PART = "SDM120"

#: Input registers (function 4), float32 big-endian, from the SDM120-Modbus protocol sheet.
REGISTERS: tuple[RegisterSpec, ...] = (
    RegisterSpec("voltage_v", 0x0000, "voltage", min_value=0.0, max_value=300.0),
    RegisterSpec("current_a", 0x0006, "current", min_value=0.0, max_value=60.0),
    RegisterSpec("active_power_w", 0x000C, "active_power", min_value=-18000.0, max_value=18000.0),
    RegisterSpec("apparent_power_va", 0x0012, "apparent_power", min_value=0.0, max_value=18000.0),
    RegisterSpec("reactive_power_var", 0x0018, "reactive_power", min_value=-18000.0, max_value=18000.0),
    RegisterSpec("power_factor", 0x001E, "power_factor", min_value=-1.0, max_value=1.0),
    RegisterSpec("frequency_hz", 0x0046, "frequency", min_value=40.0, max_value=70.0),
    RegisterSpec("import_energy_kwh", 0x0048, "active_energy", min_value=0.0, max_value=1e7),
    RegisterSpec("export_energy_kwh", 0x004A, "active_energy", min_value=0.0, max_value=1e7),
    RegisterSpec("total_energy_kwh", 0x0156, "active_energy", min_value=0.0, max_value=1e7),
)


class SDM120(EastronMeter):
    """Single-phase meter on a Modbus RTU line: voltage, current, powers, PF, Hz, energies."""

    part = PART
    registers = REGISTERS
