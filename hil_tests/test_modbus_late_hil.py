"""A slow meter whose answers come after the master's timeout never has them taken for the next question's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.errors import SensorError
from drivers.modbus import ModbusRtuBus
from drivers.sdm120 import SDM120
from drivers.sim.modbus_slave import SimModbusSlave, SimSDM120

TIMEOUT_S = 0.15
VOLTAGE_V = 230.1
TOTAL_KWH = 1234.5


@pytest.fixture
def slow_line() -> Iterator[tuple[SimModbusSlave, SimSDM120]]:
    """An SDM120 that answers every request 1.3 timeouts late."""
    line = SimModbusSlave()
    line.start()
    meter = SimSDM120(voltage_v=VOLTAGE_V, current_a=2.0, total_energy_kwh=TOTAL_KWH, import_energy_kwh=TOTAL_KWH)
    meter.fault = ("late", TIMEOUT_S * 1.3)
    line.add_device(1, meter)
    yield line, meter
    line.stop()


def test_modbus_late_answers_are_never_taken_as_the_next_ones(slow_line: tuple[SimModbusSlave, SimSDM120]) -> None:
    _, meter = slow_line
    bus = ModbusRtuBus(slow_line[0].path, timeout_s=TIMEOUT_S, retries=2)
    driver = SDM120(bus, 1)
    read, failed = 0, 0
    try:
        for _ in range(6):
            try:
                values = {r.name: r.value for r in driver.read()}
            except SensorError as exc:
                failed += 1
                assert exc.code in ("device_error", "no_answer")
                continue
            read += 1
            # float32 carries 230.1 and 1234.5 to within their last bit.
            assert values["voltage_v"] == pytest.approx(VOLTAGE_V, rel=1e-6)
            assert values["total_energy_kwh"] == pytest.approx(TOTAL_KWH, rel=1e-6)
    finally:
        bus.close()
    # The meter was asked again and again: every answer the driver gave was the truth, or an error.
    assert meter.request_count >= 12 and read + failed == 6
