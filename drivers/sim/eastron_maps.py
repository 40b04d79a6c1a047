"""Eastron meter register maps for the simulated meters, written from the protocol sheets, not drivers/.

Eastron "SDM120-Modbus Smart Meter Modbus Protocol Implementation" and "SDM630-Modbus V2 Smart Meter
Modbus Protocol Implementation", "Input Registers": each parameter is an IEEE 754 float held in two
consecutive 3X registers (function code 04), the most significant register first.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

#: "Each request for data must be restricted to 40 parameters or less" (80 registers).
EASTRON_MAX_REGISTERS_PER_READ = 80

#: SDM120-Modbus: reading name -> first of its two input registers (register number - 30001).
SDM120_FLOAT_REGISTERS: Mapping[str, int] = MappingProxyType({
    "voltage_v": 0x0000,  # 30001 Voltage
    "current_a": 0x0006,  # 30007 Current
    "active_power_w": 0x000C,  # 30013 Active power
    "apparent_power_va": 0x0012,  # 30019 Apparent power
    "reactive_power_var": 0x0018,  # 30025 Reactive power
    "power_factor": 0x001E,  # 30031 Power factor
    "frequency_hz": 0x0046,  # 30071 Frequency
    "import_energy_kwh": 0x0048,  # 30073 Import active energy
    "export_energy_kwh": 0x004A,  # 30075 Export active energy
    "total_energy_kwh": 0x0156,  # 30343 Total active energy
})

#: SDM630-Modbus V2: reading name -> first of its two input registers (register number - 30001).
SDM630_FLOAT_REGISTERS: Mapping[str, int] = MappingProxyType({
    "voltage_l1_v": 0x0000,  # 30001 Phase 1 line to neutral volts
    "voltage_l2_v": 0x0002,  # 30003 Phase 2 line to neutral volts
    "voltage_l3_v": 0x0004,  # 30005 Phase 3 line to neutral volts
    "current_l1_a": 0x0006,  # 30007 Phase 1 current
    "current_l2_a": 0x0008,  # 30009 Phase 2 current
    "current_l3_a": 0x000A,  # 30011 Phase 3 current
    "active_power_l1_w": 0x000C,  # 30013 Phase 1 power
    "active_power_l2_w": 0x000E,  # 30015 Phase 2 power
    "active_power_l3_w": 0x0010,  # 30017 Phase 3 power
    "active_power_w": 0x0034,  # 30053 Total system power
    "power_factor": 0x003E,  # 30063 Total system power factor
    "frequency_hz": 0x0046,  # 30071 Frequency of supply voltages
    "import_energy_kwh": 0x0048,  # 30073 Total import kWh
    "export_energy_kwh": 0x004A,  # 30075 Total export kWh
    "total_energy_kwh": 0x0156,  # 30343 Total kWh
})
