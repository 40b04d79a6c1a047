"""Config-declared register meter (a Modbus water meter) against a simulated slave on a pty."""

from __future__ import annotations

import pytest

from drivers.errors import BadCRCError, DeviceReportedError, NoAnswerError, OutOfRangeError
from drivers.modbus import ModbusRtuBus
from drivers.register_meter import RegisterMeter
from drivers.registers import RegisterSpec
from drivers.sim.modbus_slave import SimModbusSlave, SimRegisterDevice

WATER_MAP = (
    RegisterSpec("volume_total_l", 0x0000, "volume", function="holding", data_type="uint32", min_value=0.0),
    RegisterSpec("flow_lph", 0x0010, "flow_rate", function="input", min_value=0.0, max_value=20000.0),
    RegisterSpec("temperature_c", 0x0012, "temperature", function="input", data_type="int16", scale=0.1),
)


@pytest.fixture
def water(line: SimModbusSlave) -> SimRegisterDevice:
    device = SimRegisterDevice(
        input_registers={a: 0 for a in range(0x0010, 0x0014)},
        holding_registers={a: 0 for a in range(0x0000, 0x0004)},
    )
    device.set_uint32("holding", 0x0000, 1_234_567)
    device.set_float32("input", 0x0010, 845.5)
    device.set_int16("input", 0x0012, -35)
    line.add_device(5, device)
    return device


def by_name(meter: RegisterMeter) -> dict[str, float]:
    return {r.name: r.value for r in meter.read()}


def test_register_meter_reads_declared_map(rs485: ModbusRtuBus, water: SimRegisterDevice) -> None:
    meter = RegisterMeter(rs485, 5, WATER_MAP, part="WM-1")
    readings = meter.read()
    assert [(r.name, r.unit) for r in readings] == [
        ("volume_total_l", "L"), ("flow_lph", "L/h"), ("temperature_c", "°C"),
    ]
    assert by_name(meter) == {"volume_total_l": 1_234_567.0, "flow_lph": 845.5, "temperature_c": pytest.approx(-3.5)}
    assert [(b.function, b.address, b.count) for b in meter.blocks] == [("input", 0x10, 3), ("holding", 0, 2)]
    assert water.request_count == 4


def test_register_meter_little_endian_word_order(rs485: ModbusRtuBus, water: SimRegisterDevice) -> None:
    water.set_uint32("holding", 0x0002, 70_000, word_order="little")
    spec = RegisterSpec("volume_total_l", 0x0002, "volume", function="holding", data_type="uint32", word_order="little")
    assert RegisterMeter(rs485, 5, (spec,)).read()[0].value == 70_000.0


def test_register_meter_unmapped_register_names_illegal_data_address(
    rs485: ModbusRtuBus, water: SimRegisterDevice
) -> None:
    spec = RegisterSpec("flow_lph", 0x0100, "flow_rate")
    with pytest.raises(DeviceReportedError, match="illegal data address") as info:
        RegisterMeter(rs485, 5, (spec,), part="WM-1").read()
    assert (info.value.part, info.value.address) == ("WM-1", "unit 5")
    assert water.request_count == 1


def test_register_meter_out_of_range_value(rs485: ModbusRtuBus, water: SimRegisterDevice) -> None:
    water.set_float32("input", 0x0010, 50_000.0)
    with pytest.raises(OutOfRangeError, match="flow_lph = 50000 is above"):
        RegisterMeter(rs485, 5, WATER_MAP).read()


def test_register_meter_retries_fewer_failures_than_retries(rs485: ModbusRtuBus, water: SimRegisterDevice) -> None:
    water.fault = "silent"
    water.fail_times = 2
    assert by_name(RegisterMeter(rs485, 5, WATER_MAP))["volume_total_l"] == 1_234_567.0
    assert water.request_count == 2 + 2


def test_register_meter_gives_up_when_failures_outlast_retries(rs485: ModbusRtuBus, water: SimRegisterDevice) -> None:
    water.fault = "bad_crc"
    water.fail_times = 3
    meter = RegisterMeter(rs485, 5, WATER_MAP)
    with pytest.raises(BadCRCError):
        meter.read()
    assert by_name(meter)["flow_lph"] == 845.5


def test_register_meter_silent_unit_raises_no_answer(rs485: ModbusRtuBus, water: SimRegisterDevice) -> None:
    water.fault = "silent"
    with pytest.raises(NoAnswerError, match="3 attempt"):
        RegisterMeter(rs485, 5, WATER_MAP).read()
    assert water.request_count == 3


def test_register_meter_too_long_read_is_an_illegal_value(rs485: ModbusRtuBus, line: SimModbusSlave) -> None:
    line.add_device(9, SimRegisterDevice({a: 0 for a in range(0, 125)}, max_registers_per_read=8))
    specs = (RegisterSpec("flow_lph", 0, "flow_rate"), RegisterSpec("volume_total_l", 100, "volume"))
    with pytest.raises(DeviceReportedError, match="illegal data value"):
        RegisterMeter(rs485, 9, specs, read_across_gaps=True).read()
    assert len(RegisterMeter(rs485, 9, specs).read()) == 2


def test_register_meter_validates_its_arguments(rs485: ModbusRtuBus) -> None:
    with pytest.raises(ValueError, match="unit_id"):
        RegisterMeter(rs485, 0, WATER_MAP)
    with pytest.raises(ValueError, match="at least one"):
        RegisterMeter(rs485, 1, ())
    with pytest.raises(ValueError, match="overlap"):
        RegisterMeter(rs485, 1, (RegisterSpec("flow_lph", 0, "flow_rate"), RegisterSpec("volume_total_l", 1, "volume")))


def test_modbus_bus_validates_settings_and_requests(line: SimModbusSlave) -> None:
    with pytest.raises(ValueError, match="parity"):
        ModbusRtuBus(line.path, parity="X")
    with pytest.raises(ValueError, match="timeout_s"):
        ModbusRtuBus(line.path, timeout_s=0)
    with pytest.raises(ValueError, match="retries"):
        ModbusRtuBus(line.path, retries=-1)
    rs485 = ModbusRtuBus(line.path, timeout_s=0.2, retries=0)
    try:
        with pytest.raises(ValueError, match="count"):
            rs485.read_registers(1, 0, 126, part="test")
        with pytest.raises(ValueError, match="function"):
            rs485.read_registers(1, 0, 1, "coil", part="test")
        with pytest.raises(ValueError, match="unit_id"):
            rs485.read_registers(0, 0, 1, part="test")
    finally:
        rs485.close()
