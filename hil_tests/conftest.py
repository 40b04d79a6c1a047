"""Simulated hardware the hardware-in-the-loop tests share: clock, GPIO pins, I2C bus, RS-485 line."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broker import Broker, BrokerPki, require_mosquitto, unavailable_reason

from drivers.modbus import ModbusRtuBus
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory
from drivers.sim.i2c import SimI2CBus
from drivers.sim.modbus_slave import SimModbusSlave


@pytest.fixture
def clock_start_s() -> float:
    """Simulated time when a test starts; a test module overrides it to start elsewhere."""
    return 0.0


@pytest.fixture
def clock(clock_start_s: float) -> SimClock:
    """Simulated time: drivers sleep on it, chips and pins read it."""
    return SimClock(start_s=clock_start_s)


@pytest.fixture
def factory(clock: SimClock) -> Iterator[SimPinFactory]:
    """GPIO pins whose edges are timestamped with the simulated clock."""
    pins = SimPinFactory(clock)
    yield pins
    pins.close()


@pytest.fixture
def i2c_bus() -> Iterator[SimI2CBus]:
    """Simulated I2C bus 1 with no chip attached."""
    bus = SimI2CBus(1)
    yield bus
    bus.close()


@pytest.fixture
def line() -> Iterator[SimModbusSlave]:
    """A simulated RS-485 line served on a pseudo-terminal, with no slave on it yet."""
    slave = SimModbusSlave()
    slave.start()
    yield slave
    slave.stop()


@pytest.fixture
def rs485(line: SimModbusSlave) -> Iterator[ModbusRtuBus]:
    """The Modbus RTU bus a driver uses, opened on the simulated line."""
    bus = ModbusRtuBus(line.path, timeout_s=0.2, retries=2)
    yield bus
    bus.close()


@pytest.fixture(scope="session")
def broker_pki() -> Iterator[BrokerPki]:
    """Throwaway CA + server certificates for the test brokers (one set per session, removed after)."""
    require_mosquitto()
    pki = BrokerPki.create()
    yield pki
    pki.remove()


@pytest.fixture
def broker(broker_pki: BrokerPki) -> Iterator[Broker]:
    """A real Mosquitto on a free loopback TLS port, production ACL + passwords (hil_tests/broker.py)."""
    if unavailable_reason() is not None:
        require_mosquitto()
    running = Broker(broker_pki)
    try:
        yield running.start()
    finally:
        running.close()
