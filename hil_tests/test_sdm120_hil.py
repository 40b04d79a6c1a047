"""SDM120 driver against a simulated SDM120 on a real pseudo-terminal RS-485 line."""

from __future__ import annotations

import pytest

from drivers.errors import (
    BadCRCError,
    DeviceReportedError,
    NoAnswerError,
    NotPluggedError,
    OutOfRangeError,
)
from drivers.modbus import ModbusRtuBus
from drivers.sdm120 import SDM120
from drivers.sim.modbus_slave import SimModbusSlave, SimSDM120


@pytest.fixture
def sim_meter(line: SimModbusSlave) -> SimSDM120:
    meter = SimSDM120(
        voltage_v=231.5,
        current_a=4.25,
        active_power_w=950.0,
        apparent_power_va=983.0,
        reactive_power_var=-120.5,
        power_factor=0.966,
        frequency_hz=49.98,
        import_energy_kwh=12345.6,
        export_energy_kwh=7.25,
        total_energy_kwh=12352.85,
    )
    line.add_device(1, meter)
    return meter


def values(meter: SDM120) -> dict[str, float]:
    return {r.name: r.value for r in meter.read()}


def test_sdm120_reads_every_value_with_units(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    readings = SDM120(rs485, unit_id=1).read()
    got = {r.name: (r.value, r.unit) for r in readings}
    expected = {
        "voltage_v": (231.5, "V"),
        "current_a": (4.25, "A"),
        "active_power_w": (950.0, "W"),
        "apparent_power_va": (983.0, "VA"),
        "reactive_power_var": (-120.5, "var"),
        "power_factor": (0.966, "1"),
        "frequency_hz": (49.98, "Hz"),
        "import_energy_kwh": (12345.6, "kWh"),
        "export_energy_kwh": (7.25, "kWh"),
        "total_energy_kwh": (12352.85, "kWh"),
    }
    assert set(got) == set(expected)
    for name, (value, unit) in expected.items():
        assert got[name][0] == pytest.approx(value, rel=1e-6), name
        assert got[name][1] == unit


def test_sdm120_follows_changing_values_in_two_requests(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    meter = SDM120(rs485)
    assert values(meter)["voltage_v"] == pytest.approx(231.5)
    sim_meter.voltage_v = 218.0
    sim_meter.total_energy_kwh = 13000.5
    got = values(meter)
    assert got["voltage_v"] == pytest.approx(218.0)
    assert got["total_energy_kwh"] == pytest.approx(13000.5)
    assert sim_meter.request_count == 4


def test_sdm120_silent_meter_raises_no_answer_after_retries(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    sim_meter.fault = "silent"
    with pytest.raises(NoAnswerError, match="no answer after 3 attempt") as info:
        SDM120(rs485).read()
    assert (info.value.part, info.value.bus, info.value.address) == ("SDM120", "rs485", "unit 1")
    assert sim_meter.request_count == 3


def test_sdm120_bad_crc_raises_bad_crc_error(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    sim_meter.fault = "bad_crc"
    with pytest.raises(BadCRCError, match="wrong CRC") as info:
        SDM120(rs485).read()
    assert info.value.address == "unit 1"
    assert sim_meter.request_count == 3


def test_sdm120_transient_faults_are_retried(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    sim_meter.fault = "bad_crc"
    sim_meter.fail_times = 1
    meter = SDM120(rs485)
    assert values(meter)["current_a"] == pytest.approx(4.25)
    sim_meter.fault = "silent"
    sim_meter.fail_times = 2
    assert values(meter)["current_a"] == pytest.approx(4.25)
    assert sim_meter.request_count == (1 + 1 + 1) + (2 + 1 + 1)


def test_sdm120_busy_meter_is_asked_again(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    sim_meter.fault = ("exception", 6)
    sim_meter.fail_times = 2
    assert values(SDM120(rs485))["frequency_hz"] == pytest.approx(49.98)
    assert sim_meter.request_count == 4


def test_sdm120_device_failure_is_reported_without_retry(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    sim_meter.fault = ("exception", 4)
    with pytest.raises(DeviceReportedError, match="slave device failure"):
        SDM120(rs485).read()
    assert sim_meter.request_count == 1


def test_sdm120_implausible_voltage_raises_out_of_range(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    sim_meter.voltage_v = 1000.0
    with pytest.raises(OutOfRangeError, match="voltage_v") as info:
        SDM120(rs485).read()
    assert info.value.part == "SDM120"
    sim_meter.voltage_v = float("nan")
    with pytest.raises(OutOfRangeError, match="not a number"):
        SDM120(rs485).read()


def test_sdm120_wrong_unit_id_gets_no_answer(rs485: ModbusRtuBus, sim_meter: SimSDM120) -> None:
    with pytest.raises(NoAnswerError) as info:
        SDM120(rs485, unit_id=2).read()
    assert info.value.address == "unit 2"
    assert sim_meter.request_count == 0


def test_sdm120_reads_again_after_the_line_comes_back(
    line: SimModbusSlave, rs485: ModbusRtuBus, sim_meter: SimSDM120
) -> None:
    meter = SDM120(rs485)
    assert values(meter)["voltage_v"] == pytest.approx(231.5)
    line.stop()
    with pytest.raises(NotPluggedError, match="cannot be opened"):
        meter.read()
    line.start()
    sim_meter.voltage_v = 229.0
    assert values(meter)["voltage_v"] == pytest.approx(229.0)


def test_sdm120_rejects_bad_unit_ids(rs485: ModbusRtuBus) -> None:
    with pytest.raises(ValueError, match="unit_id"):
        SDM120(rs485, unit_id=0)
    with pytest.raises(ValueError, match="unit_id"):
        SDM120(rs485, unit_id=248)
