"""Eastron SDM120 and SDM630 facts written out from the protocol sheets, never from the code under test.

Sources: Eastron "SDM120-Modbus Smart Meter Modbus Protocol Implementation" and "SDM630-Modbus V2
Smart Meter Modbus Protocol Implementation", section "Input Registers": each parameter is an IEEE 754
float in two consecutive 3X registers read with function code 04, most significant register first;
"Each request for data must be restricted to 40 parameters or less". The protocol address of
register 3xxxx is xxxx - 1 (30001 -> 0x0000).
"""

from __future__ import annotations

import pytest

from drivers import eastron, sdm120, sdm630
from drivers.registers import RegisterSpec
from drivers.sim.eastron_maps import EASTRON_MAX_REGISTERS_PER_READ
from drivers.sim.modbus_device import SimSDM120, SimSDM630

SDM120_INPUT_REGISTERS = {
    "voltage_v": 30001,
    "current_a": 30007,
    "active_power_w": 30013,
    "apparent_power_va": 30019,
    "reactive_power_var": 30025,
    "power_factor": 30031,
    "frequency_hz": 30071,
    "import_energy_kwh": 30073,
    "export_energy_kwh": 30075,
    "total_energy_kwh": 30343,
}

SDM630_INPUT_REGISTERS = {
    "voltage_l1_v": 30001,  # Phase 1 line to neutral volts
    "voltage_l2_v": 30003,
    "voltage_l3_v": 30005,
    "current_l1_a": 30007,  # Phase 1 current
    "current_l2_a": 30009,
    "current_l3_a": 30011,
    "active_power_l1_w": 30013,  # Phase 1 power
    "active_power_l2_w": 30015,
    "active_power_l3_w": 30017,
    "active_power_w": 30053,  # Total system power
    "power_factor": 30063,  # Total system power factor
    "frequency_hz": 30071,  # Frequency of supply voltages
    "import_energy_kwh": 30073,  # Total import kWh
    "export_energy_kwh": 30075,  # Total export kWh
    "total_energy_kwh": 30343,  # Total kWh
}

MAPS = [
    pytest.param(sdm120.REGISTERS, SDM120_INPUT_REGISTERS, id="SDM120"),
    pytest.param(sdm630.REGISTERS, SDM630_INPUT_REGISTERS, id="SDM630"),
]


@pytest.mark.parametrize(("registers", "sheet"), MAPS)
def test_eastron_driver_addresses_are_the_register_numbers_minus_30001(
    registers: tuple[RegisterSpec, ...], sheet: dict[str, int]
) -> None:
    assert {spec.name: spec.address for spec in registers} == {name: number - 30001 for name, number in sheet.items()}


@pytest.mark.parametrize(("registers", "sheet"), MAPS)
def test_eastron_values_are_float32_input_registers_high_word_first(
    registers: tuple[RegisterSpec, ...], sheet: dict[str, int]
) -> None:
    for spec in registers:
        assert (spec.function, spec.data_type, spec.word_order, spec.word_count) == ("input", "float32", "big", 2)


def test_eastron_voltage_register_literal() -> None:
    assert sdm120.REGISTERS[0].name == "voltage_v" and sdm120.REGISTERS[0].address == 0x0000
    assert sdm630.REGISTERS[0].name == "voltage_l1_v" and sdm630.REGISTERS[0].address == 0x0000


def test_eastron_at_most_40_parameters_per_request() -> None:
    assert eastron.MAX_REGISTERS_PER_READ == 40 * 2
    assert sdm120.MAX_REGISTERS_PER_READ == 80
    assert sdm630.MAX_REGISTERS_PER_READ == 80


def test_eastron_twins_use_the_sheet_addresses() -> None:
    assert dict(SimSDM120.FLOAT_REGISTERS) == {name: number - 30001 for name, number in SDM120_INPUT_REGISTERS.items()}
    assert dict(SimSDM630.FLOAT_REGISTERS) == {name: number - 30001 for name, number in SDM630_INPUT_REGISTERS.items()}
    assert EASTRON_MAX_REGISTERS_PER_READ == 80


def test_eastron_twin_sends_230_volts_as_0x4366_0x0000() -> None:
    meter = SimSDM120(voltage_v=230.0, frequency_hz=50.0)
    assert meter.read("input", 0x0000, 2) == [0x4366, 0x0000]  # IEEE 754 230.0, high word first
    assert meter.read("input", 0x0046, 2) == [0x4248, 0x0000]  # 50.0 Hz
    assert meter.read("input", 0x0002, 2) == [0x0000, 0x0000]  # no parameter there: reads zero
