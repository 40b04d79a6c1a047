"""SHT31 driver against the simulated SHT3x-DIS on a simulated I2C bus."""

from __future__ import annotations

import errno

import pytest
from smbus2 import i2c_msg

from drivers.errors import BadCRCError, NotPluggedError, OutOfRangeError
from drivers.sht31 import MAX_MEASUREMENT_S, SHT31, SOFT_RESET_MAX_S, crc8
from drivers.sim.clock import SimClock
from drivers.sim.i2c import SimI2CBus
from drivers.sim.sht31 import SimSHT31

T_STEP_C = 175 / 65535
RH_STEP_PCT = 100 / 65535


@pytest.fixture
def chip(clock: SimClock, i2c_bus: SimI2CBus) -> SimSHT31:
    sim = SimSHT31(clock.monotonic, temperature_c=21.3, relative_humidity_pct=64.2)
    i2c_bus.attach(0x44, sim)
    return sim


def _driver(i2c_bus: SimI2CBus, clock: SimClock, **kwargs: object) -> SHT31:
    return SHT31(i2c_bus, bus_name="i2c-1", sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def _values(driver: SHT31) -> tuple[float, float]:
    temperature, humidity = driver.read()
    assert (temperature.name, temperature.quantity, temperature.unit) == ("temperature_c", "temperature", "°C")
    assert (humidity.name, humidity.quantity, humidity.unit) == (
        "relative_humidity_pct", "relative_humidity", "%",
    )
    return temperature.value, humidity.value


def _command(i2c_bus: SimI2CBus, command: int) -> None:
    i2c_bus.i2c_rdwr(i2c_msg.write(0x44, [command >> 8, command & 0xFF]))


def _read(i2c_bus: SimI2CBus, length: int) -> bytes:
    message = i2c_msg.read(0x44, length)
    i2c_bus.i2c_rdwr(message)
    return bytes(message)


@pytest.mark.parametrize("repeatability", ["high", "medium", "low"])
def test_sht31_every_repeatability(clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31, repeatability: str) -> None:
    driver = _driver(i2c_bus, clock, repeatability=repeatability)
    before = clock.monotonic()
    temperature_c, humidity_pct = _values(driver)
    assert temperature_c == pytest.approx(21.3, abs=T_STEP_C)
    assert humidity_pct == pytest.approx(64.2, abs=RH_STEP_PCT)
    assert clock.monotonic() - before == pytest.approx(SOFT_RESET_MAX_S + MAX_MEASUREMENT_S[repeatability])


@pytest.mark.parametrize(
    ("temperature_c", "humidity_pct"), [(-40.0, 0.0), (-12.5, 99.0), (0.0, 100.0), (85.0, 3.5), (125.0, 50.0)]
)
def test_sht31_follows_the_climate(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31, temperature_c: float, humidity_pct: float
) -> None:
    driver = _driver(i2c_bus, clock)
    chip.temperature_c, chip.relative_humidity_pct = temperature_c, humidity_pct
    assert _values(driver) == (
        pytest.approx(temperature_c, abs=T_STEP_C), pytest.approx(humidity_pct, abs=RH_STEP_PCT),
    )


def test_sht31_sim_nacks_a_read_before_the_measurement_is_ready(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31
) -> None:
    _command(i2c_bus, 0x2400)  # single shot, high repeatability, no clock stretching
    with pytest.raises(OSError) as info:
        _read(i2c_bus, 6)
    assert info.value.errno == errno.EREMOTEIO
    with pytest.raises(OSError):
        _command(i2c_bus, 0x2416)  # busy measuring: the command is not acknowledged
    clock.advance(0.0125)
    frame = _read(i2c_bus, 6)
    assert crc8(frame[0:2]) == frame[2] and crc8(frame[3:5]) == frame[5]
    with pytest.raises(OSError):
        _read(i2c_bus, 6)  # the result was read out: nothing left to send


def test_sht31_driver_that_does_not_wait_gets_nacked(clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31) -> None:
    hasty = SHT31(i2c_bus, bus_name="i2c-1", sleep=lambda s: None)
    with pytest.raises(NotPluggedError):
        hasty.read()
    clock.advance(0.05)
    assert _values(_driver(i2c_bus, clock)) == (pytest.approx(21.3, abs=T_STEP_C), pytest.approx(64.2, abs=RH_STEP_PCT))


def test_sht31_bad_crc_then_recovers(clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31) -> None:
    driver = _driver(i2c_bus, clock)
    _values(driver)
    chip.corrupt_next_crc = True
    with pytest.raises(BadCRCError) as info:
        driver.read()
    assert (info.value.part, info.value.bus, info.value.address) == ("SHT31", "i2c-1", "0x44")
    assert info.value.code == "bad_crc"
    assert _values(driver)[0] == pytest.approx(21.3, abs=T_STEP_C)


def test_sht31_unplugged_then_replugged(clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31) -> None:
    driver = _driver(i2c_bus, clock)
    _values(driver)
    driver.set_heater(True)
    assert chip.heater_on
    i2c_bus.detach(0x44)
    with pytest.raises(NotPluggedError) as info:
        driver.read()
    error = info.value
    assert (error.part, error.bus, error.address) == ("SHT31", "i2c-1", "0x44")
    assert isinstance(error.__cause__, OSError) and error.__cause__.errno == errno.EREMOTEIO
    assert error.to_dict()["code"] == "not_plugged"
    chip.temperature_c = 4.0
    i2c_bus.attach(0x44, chip)
    assert not chip.heater_on
    assert _values(driver)[0] == pytest.approx(4.0, abs=T_STEP_C)
    assert driver.read_status() & (1 << 4) == 0  # the driver cleared the reset flag


def test_sht31_status_and_heater(clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31) -> None:
    driver = _driver(i2c_bus, clock)
    assert driver.read_status() == 0
    driver.set_heater(True)
    assert chip.heater_on and driver.read_status() == 1 << 13
    driver.set_heater(False)
    assert not chip.heater_on and driver.read_status() == 0


def test_sht31_sim_status_after_reset_and_unknown_command(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31
) -> None:
    _command(i2c_bus, 0xF32D)  # read out of status register
    assert _read(i2c_bus, 3) == bytes([0x80, 0x10, 0xE1])  # alert pending, reset detected, CRC
    _command(i2c_bus, 0x1234)
    _command(i2c_bus, 0xF32D)
    assert _read(i2c_bus, 2) == b"\x80\x12"  # command failed bit set
    _command(i2c_bus, 0x30A2)  # soft reset
    with pytest.raises(OSError):
        _command(i2c_bus, 0xF32D)  # still resetting
    clock.advance(SOFT_RESET_MAX_S)
    _command(i2c_bus, 0xF32D)
    assert _read(i2c_bus, 2) == b"\x80\x10"


@pytest.mark.parametrize("command", [0x2C06, 0x2C0D, 0x2C10])
def test_sht31_sim_refuses_clock_stretching_measurements(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31, command: int
) -> None:
    # Datasheet Table 9 lists them; the Pi's controller cannot stretch, so the twin refuses them
    _command(i2c_bus, command)
    clock.advance(0.020)
    with pytest.raises(OSError):
        _read(i2c_bus, 6)
    _command(i2c_bus, 0xF32D)
    assert _read(i2c_bus, 2) == b"\x80\x12"  # command status bit 1: not processed


@pytest.mark.parametrize("temperature_c", [-45.0, 130.0])
def test_sht31_impossible_temperature_is_out_of_range(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimSHT31, temperature_c: float
) -> None:
    chip.temperature_c = temperature_c
    with pytest.raises(OutOfRangeError, match="outside the sensor's -40..125 °C range"):
        _driver(i2c_bus, clock).read()


def test_sht31_second_address(clock: SimClock, i2c_bus: SimI2CBus) -> None:
    i2c_bus.attach(0x45, SimSHT31(clock.monotonic, temperature_c=-5.0, relative_humidity_pct=90.0))
    driver = SHT31(i2c_bus, 0x45, bus_name="i2c-3", sleep=clock.sleep)
    assert _values(driver) == (pytest.approx(-5.0, abs=T_STEP_C), pytest.approx(90.0, abs=RH_STEP_PCT))
    i2c_bus.detach(0x45)
    with pytest.raises(NotPluggedError) as info:
        driver.read()
    assert (info.value.bus, info.value.address) == ("i2c-3", "0x45")
