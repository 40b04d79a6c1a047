"""Eastron SDM120/SDM630 register maps: datasheet addresses, units in names, request plan."""

from __future__ import annotations

import pytest

from drivers import sdm120, sdm630
from drivers.reading import UNITS, reading
from drivers.registers import NAME_SUFFIXES, RegisterSpec, check_register_map, plan_reads
from drivers.sim.modbus_slave import SimSDM120, SimSDM630

SDM120_DATASHEET = {
    "voltage_v": 0x0000,
    "current_a": 0x0006,
    "active_power_w": 0x000C,
    "apparent_power_va": 0x0012,
    "reactive_power_var": 0x0018,
    "power_factor": 0x001E,
    "frequency_hz": 0x0046,
    "import_energy_kwh": 0x0048,
    "export_energy_kwh": 0x004A,
    "total_energy_kwh": 0x0156,
}

SDM630_DATASHEET = {
    "voltage_l1_v": 0x0000,
    "voltage_l2_v": 0x0002,
    "voltage_l3_v": 0x0004,
    "current_l1_a": 0x0006,
    "current_l2_a": 0x0008,
    "current_l3_a": 0x000A,
    "active_power_l1_w": 0x000C,
    "active_power_l2_w": 0x000E,
    "active_power_l3_w": 0x0010,
    "active_power_w": 0x0034,
    "power_factor": 0x003E,
    "frequency_hz": 0x0046,
    "import_energy_kwh": 0x0048,
    "export_energy_kwh": 0x004A,
    "total_energy_kwh": 0x0156,
}

MAPS = [
    pytest.param(sdm120.REGISTERS, SDM120_DATASHEET, id="SDM120"),
    pytest.param(sdm630.REGISTERS, SDM630_DATASHEET, id="SDM630"),
]


@pytest.mark.parametrize(("registers", "datasheet"), MAPS)
def test_sdm_map_matches_datasheet_addresses(
    registers: tuple[RegisterSpec, ...], datasheet: dict[str, int]
) -> None:
    assert {spec.name: spec.address for spec in registers} == datasheet


@pytest.mark.parametrize(("registers", "datasheet"), MAPS)
def test_sdm_map_has_no_overlaps_and_float_input_registers(
    registers: tuple[RegisterSpec, ...], datasheet: dict[str, int]
) -> None:
    check_register_map(registers)
    for spec in registers:
        assert (spec.function, spec.data_type, spec.word_order) == ("input", "float32", "big")
        assert spec.address % 2 == 0, f"{spec.name}: Eastron floats start on even registers"


@pytest.mark.parametrize(("registers", "datasheet"), MAPS)
def test_sdm_map_names_carry_units_and_quantities_are_known(
    registers: tuple[RegisterSpec, ...], datasheet: dict[str, int]
) -> None:
    for spec in registers:
        assert spec.quantity in UNITS
        assert spec.name.endswith(NAME_SUFFIXES[spec.quantity])
        assert reading(spec.name, spec.quantity, 1.0).unit == UNITS[spec.quantity]


@pytest.mark.parametrize(("registers", "datasheet"), MAPS)
def test_sdm_map_has_plausible_ranges(
    registers: tuple[RegisterSpec, ...], datasheet: dict[str, int]
) -> None:
    for spec in registers:
        assert spec.min_value is not None and spec.max_value is not None, spec.name
        assert spec.min_value < spec.max_value
    pf = next(spec for spec in registers if spec.name == "power_factor")
    assert (pf.min_value, pf.max_value) == (-1.0, 1.0)
    assert all(spec.min_value == 0.0 for spec in registers if spec.quantity == "active_energy")


def test_sdm120_is_read_in_two_requests_within_the_eastron_limit() -> None:
    blocks = plan_reads(sdm120.REGISTERS, max_registers=sdm120.MAX_REGISTERS_PER_READ, read_across_gaps=True)
    assert [(b.address, b.count) for b in blocks] == [(0x0000, 0x4C), (0x0156, 2)]
    assert all(b.count <= 80 for b in blocks)


def test_sdm630_is_read_in_two_requests_within_the_eastron_limit() -> None:
    blocks = plan_reads(sdm630.REGISTERS, max_registers=sdm630.MAX_REGISTERS_PER_READ, read_across_gaps=True)
    assert [(b.address, b.count) for b in blocks] == [(0x0000, 0x4C), (0x0156, 2)]


def test_simulated_meters_use_the_datasheet_addresses() -> None:
    assert dict(SimSDM120.FLOAT_REGISTERS) == SDM120_DATASHEET
    assert dict(SimSDM630.FLOAT_REGISTERS) == SDM630_DATASHEET
