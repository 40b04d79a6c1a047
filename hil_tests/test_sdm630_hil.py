"""SDM630 driver against a simulated SDM630 sharing a pseudo-terminal RS-485 line with others."""

from __future__ import annotations

import pytest

from drivers.errors import NoAnswerError, OutOfRangeError
from drivers.modbus import ModbusRtuBus
from drivers.register_meter import RegisterMeter
from drivers.registers import RegisterSpec
from drivers.sdm120 import SDM120
from drivers.sdm630 import SDM630
from drivers.sim.modbus_slave import SimModbusSlave, SimRegisterDevice, SimSDM120, SimSDM630

PHASES = {
    "voltage_l1_v": 231.0,
    "voltage_l2_v": 229.5,
    "voltage_l3_v": 233.25,
    "current_l1_a": 10.5,
    "current_l2_a": 0.0,
    "current_l3_a": 3.75,
    "active_power_l1_w": 2400.0,
    "active_power_l2_w": 0.0,
    "active_power_l3_w": -850.0,
    "active_power_w": 1550.0,
    "power_factor": -0.92,
    "frequency_hz": 50.02,
    "import_energy_kwh": 45678.9,
    "export_energy_kwh": 1234.5,
    "total_energy_kwh": 46913.4,
}


def test_sdm630_reads_three_phases(line: SimModbusSlave, rs485: ModbusRtuBus) -> None:
    sim = line.add_device(1, SimSDM630(**PHASES))
    readings = SDM630(rs485).read()
    assert [r.name for r in readings] == list(PHASES)
    for r in readings:
        assert r.value == pytest.approx(PHASES[r.name], rel=1e-6), r.name
    units = {r.name: r.unit for r in readings}
    assert (units["voltage_l2_v"], units["current_l3_a"], units["active_power_w"]) == ("V", "A", "W")
    assert sim.request_count == 2


def test_sdm630_and_other_meters_share_one_line(line: SimModbusSlave, rs485: ModbusRtuBus) -> None:
    three_phase = line.add_device(2, SimSDM630(**PHASES))
    single_phase = line.add_device(1, SimSDM120(voltage_v=228.0, current_a=1.5))
    water = SimRegisterDevice(holding_registers={0: 0, 1: 0})
    water.set_uint32("holding", 0, 98765)
    line.add_device(7, water)
    sdm630 = SDM630(rs485, unit_id=2)
    sdm120 = SDM120(rs485, unit_id=1)
    water_meter = RegisterMeter(
        rs485, 7, (RegisterSpec("volume_total_l", 0, "volume", function="holding", data_type="uint32"),)
    )
    for _ in range(3):
        assert {r.name: r.value for r in sdm630.read()}["voltage_l3_v"] == pytest.approx(233.25)
        assert {r.name: r.value for r in sdm120.read()}["voltage_v"] == pytest.approx(228.0)
        assert water_meter.read()[0].value == 98765.0
    assert (three_phase.request_count, single_phase.request_count, water.request_count) == (6, 6, 3)


def test_sdm630_silent_meter_does_not_stop_its_neighbours(line: SimModbusSlave, rs485: ModbusRtuBus) -> None:
    three_phase = line.add_device(2, SimSDM630(**PHASES))
    line.add_device(1, SimSDM120(voltage_v=228.0))
    three_phase.fault = "silent"
    with pytest.raises(NoAnswerError) as info:
        SDM630(rs485, unit_id=2).read()
    assert (info.value.part, info.value.address) == ("SDM630", "unit 2")
    assert {r.name: r.value for r in SDM120(rs485, unit_id=1).read()}["voltage_v"] == pytest.approx(228.0)
    three_phase.fault = None
    assert len(SDM630(rs485, unit_id=2).read()) == len(PHASES)


def test_sdm630_implausible_phase_current_raises_out_of_range(line: SimModbusSlave, rs485: ModbusRtuBus) -> None:
    line.add_device(1, SimSDM630(**{**PHASES, "current_l2_a": -3.0}))
    with pytest.raises(OutOfRangeError, match="current_l2_a"):
        SDM630(rs485).read()
