"""The in-process loopback line classifies every fault as the pty line does, through the same bus code."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest

from drivers.errors import BadCRCError, DeviceReportedError, NoAnswerError
from drivers.modbus import ModbusRtuBus
from drivers.sdm120 import SDM120
from drivers.sim.modbus_loopback import LoopbackModbusClient
from drivers.sim.modbus_slave import SimModbusSlave, SimSDM120


@pytest.fixture
def meter_and_device() -> Iterator[tuple[SDM120, SimSDM120]]:
    slave = SimModbusSlave()
    device = slave.add_device(7, SimSDM120(voltage_v=229.5, current_a=4.0, import_energy_kwh=812.25))
    bus = ModbusRtuBus(
        "loopback", timeout_s=0.05, retries=2, name="rs485",
        client_factory=functools.partial(LoopbackModbusClient, slave=slave),
    )
    yield SDM120(bus, 7), device
    bus.close()


def _values(meter: SDM120) -> dict[str, float]:
    return {r.name: r.value for r in meter.read()}


def test_loopback_reads_sdm120_values(meter_and_device: tuple[SDM120, SimSDM120]) -> None:
    meter, device = meter_and_device
    assert _values(meter)["voltage_v"] == pytest.approx(229.5)
    device.import_energy_kwh = 813.5
    assert _values(meter)["import_energy_kwh"] == pytest.approx(813.5)


def test_loopback_silent_meter_is_no_answer_after_retries(meter_and_device: tuple[SDM120, SimSDM120]) -> None:
    meter, device = meter_and_device
    device.fault = "silent"
    before = device.request_count
    with pytest.raises(NoAnswerError, match="no answer after 3 attempt"):
        meter.read()
    assert device.request_count - before == 3


def test_loopback_bad_crc_is_reported(meter_and_device: tuple[SDM120, SimSDM120]) -> None:
    meter, device = meter_and_device
    device.fault = "bad_crc"
    with pytest.raises(BadCRCError, match="wrong CRC"):
        meter.read()


def test_loopback_exception_response_is_named(meter_and_device: tuple[SDM120, SimSDM120]) -> None:
    meter, device = meter_and_device
    device.fault = ("exception", 2)
    with pytest.raises(DeviceReportedError, match="illegal data address"):
        meter.read()


def test_loopback_transient_fault_is_retried(meter_and_device: tuple[SDM120, SimSDM120]) -> None:
    meter, device = meter_and_device
    device.fault = "bad_crc"
    device.fail_times = 2
    assert _values(meter)["current_a"] == pytest.approx(4.0)
