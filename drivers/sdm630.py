"""Eastron SDM630-Modbus v2 three-phase energy meter."""

from __future__ import annotations

from drivers.eastron import MAX_REGISTERS_PER_READ, EastronMeter
from drivers.registers import RegisterSpec

__all__ = ["MAX_REGISTERS_PER_READ", "PART", "REGISTERS", "SDM630"]

PART = "SDM630"

_VOLTAGE = {"min_value": 0.0, "max_value": 500.0}
_CURRENT = {"min_value": 0.0, "max_value": 120.0}
_PHASE_POWER = {"min_value": -60000.0, "max_value": 60000.0}
_ENERGY = {"min_value": 0.0, "max_value": 1e8}

#: Input registers (function 4), float32 big-endian, from the SDM630-Modbus v2 protocol sheet.
REGISTERS: tuple[RegisterSpec, ...] = (
    RegisterSpec("voltage_l1_v", 0x0000, "voltage", **_VOLTAGE),
    RegisterSpec("voltage_l2_v", 0x0002, "voltage", **_VOLTAGE),
    RegisterSpec("voltage_l3_v", 0x0004, "voltage", **_VOLTAGE),
    RegisterSpec("current_l1_a", 0x0006, "current", **_CURRENT),
    RegisterSpec("current_l2_a", 0x0008, "current", **_CURRENT),
    RegisterSpec("current_l3_a", 0x000A, "current", **_CURRENT),
    RegisterSpec("active_power_l1_w", 0x000C, "active_power", **_PHASE_POWER),
    RegisterSpec("active_power_l2_w", 0x000E, "active_power", **_PHASE_POWER),
    RegisterSpec("active_power_l3_w", 0x0010, "active_power", **_PHASE_POWER),
    RegisterSpec("active_power_w", 0x0034, "active_power", min_value=-180000.0, max_value=180000.0),
    RegisterSpec("power_factor", 0x003E, "power_factor", min_value=-1.0, max_value=1.0),
    RegisterSpec("frequency_hz", 0x0046, "frequency", min_value=40.0, max_value=70.0),
    RegisterSpec("import_energy_kwh", 0x0048, "active_energy", **_ENERGY),
    RegisterSpec("export_energy_kwh", 0x004A, "active_energy", **_ENERGY),
    RegisterSpec("total_energy_kwh", 0x0156, "active_energy", **_ENERGY),
)


class SDM630(EastronMeter):
    """Three-phase meter on a Modbus RTU line: per-phase V, A, W; total W, PF, Hz, energies."""

    part = PART
    registers = REGISTERS
