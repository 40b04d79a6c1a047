"""BH1750 driver against the simulated BH1750FVI on a simulated I2C bus, plus the bus scan.

Accuracy target: within 2 % of the simulated true illuminance, or one count of the chip's
resolution when that is coarser (0.11 lx at H-res2/MTreg 254, so 0.05 lx reads as 0 lx).
"""

from __future__ import annotations

import errno

import pytest

from drivers.bh1750 import BH1750, counts_to_lux, measurement_time_s, resolution_lx
from drivers.errors import NotPluggedError, OutOfRangeError
from drivers.i2c_scan import scan_i2c
from drivers.sim.bh1750 import SimBH1750
from drivers.sim.clock import SimClock
from drivers.sim.i2c import SimI2CBus, SimI2CChip
from drivers.sim.sht31 import SimSHT31
from drivers.sim.veml7700 import SimVEML7700

LIGHT_LEVELS_LX = (0.05, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, 50_000.0, 100_000.0)
REL_TOLERANCE = 0.02


@pytest.fixture
def chip(clock: SimClock, i2c_bus: SimI2CBus) -> SimBH1750:
    sim = SimBH1750(clock.monotonic, illuminance_lx=500.0)
    i2c_bus.attach(0x23, sim)
    return sim


def _driver(i2c_bus: SimI2CBus, clock: SimClock, **kwargs: object) -> BH1750:
    return BH1750(i2c_bus, bus_name="i2c-1", sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def _lux(driver: BH1750) -> float:
    (result,) = driver.read()
    assert result.name == "illuminance_lx" and result.quantity == "illuminance" and result.unit == "lx"
    return result.value


def _tolerance(true_lx: float, driver: BH1750) -> float:
    return max(REL_TOLERANCE * true_lx, resolution_lx(driver.mtreg, driver.resolution))


@pytest.mark.parametrize("mode", ["one_time", "continuous"])
@pytest.mark.parametrize("true_lx", LIGHT_LEVELS_LX)
def test_bh1750_auto_range_from_moonlight_to_full_sun(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750, mode: str, true_lx: float
) -> None:
    chip.illuminance_lx = true_lx
    driver = _driver(i2c_bus, clock, mode=mode)
    value = _lux(driver)
    assert value == pytest.approx(true_lx, abs=_tolerance(true_lx, driver))
    assert chip.mtreg == driver.mtreg


@pytest.mark.parametrize("mode", ["one_time", "continuous"])
def test_bh1750_auto_range_follows_a_day_up_and_down(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750, mode: str
) -> None:
    driver = _driver(i2c_bus, clock, mode=mode)
    for true_lx in LIGHT_LEVELS_LX + LIGHT_LEVELS_LX[::-1]:
        chip.illuminance_lx = true_lx
        clock.advance(60.0)
        assert _lux(driver) == pytest.approx(true_lx, abs=_tolerance(true_lx, driver))


def test_bh1750_moonlight_is_below_the_finest_step(clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750) -> None:
    chip.illuminance_lx = 0.05
    driver = _driver(i2c_bus, clock)
    assert _lux(driver) == 0.0
    assert (driver.resolution, driver.mtreg) == ("high2", 254)
    chip.illuminance_lx = 0.12
    assert _lux(driver) == pytest.approx(counts_to_lux(1, 254, "high2"))


@pytest.mark.parametrize("mode", ["one_time", "continuous"])
@pytest.mark.parametrize("resolution", ["high", "high2", "low"])
@pytest.mark.parametrize("mtreg", [31, 69, 254])
def test_bh1750_every_fixed_mode(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750, mode: str, resolution: str, mtreg: int
) -> None:
    chip.illuminance_lx = 733.3
    driver = _driver(i2c_bus, clock, mode=mode, auto_range=False, mtreg=mtreg, resolution=resolution)
    value = _lux(driver)
    assert value == pytest.approx(733.3, abs=resolution_lx(mtreg, resolution) + 1 / 1.2)
    assert chip.mtreg == mtreg
    assert (driver.resolution, driver.mtreg) == (resolution, mtreg)


def test_bh1750_low_resolution_steps_are_4_lx(clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750) -> None:
    driver = _driver(i2c_bus, clock, auto_range=False, resolution="low")
    values = set()
    for tenth in range(990, 1090):
        chip.illuminance_lx = tenth / 10
        values.add(round(_lux(driver)))
    assert values == {96, 100, 104, 108}


def test_bh1750_one_time_mode_powers_down_after_measuring(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750
) -> None:
    _lux(_driver(i2c_bus, clock, mode="one_time", auto_range=False))
    assert not chip.powered
    assert chip.measuring is None


def test_bh1750_continuous_mode_keeps_measuring(clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750) -> None:
    driver = _driver(i2c_bus, clock, mode="continuous", auto_range=False)
    assert _lux(driver) == pytest.approx(500.0, abs=1)
    assert chip.powered and chip.measuring == "high"
    chip.illuminance_lx = 200.0
    clock.advance(1.0)
    before = clock.monotonic()
    assert _lux(driver) == pytest.approx(200.0, abs=1)
    assert clock.monotonic() == before  # the chip had a fresh result: no wait needed


@pytest.mark.parametrize("mode", ["one_time", "continuous"])
def test_bh1750_driver_waits_for_the_measurement(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750, mode: str
) -> None:
    driver = _driver(i2c_bus, clock, mode=mode, auto_range=False, mtreg=138)
    before = clock.monotonic()
    assert _lux(driver) == pytest.approx(500.0, abs=1)
    assert clock.monotonic() - before == pytest.approx(measurement_time_s(138, "high"))


def test_bh1750_reading_too_early_gives_the_previous_result(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750
) -> None:
    careful = _driver(i2c_bus, clock, auto_range=False)
    assert _lux(careful) == pytest.approx(500.0, abs=1)
    chip.illuminance_lx = 100.0
    hasty = BH1750(i2c_bus, bus_name="i2c-1", sleep=lambda s: None, auto_range=False)
    assert _lux(hasty) == pytest.approx(0.0)  # reset cleared the register, no result yet
    assert _lux(careful) == pytest.approx(100.0, abs=1)
    chip.illuminance_lx = 300.0
    assert _lux(hasty) == pytest.approx(100.0, abs=1)  # previous result


def test_bh1750_sim_measurement_time_scales_with_mtreg(clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750) -> None:
    i2c_bus.write_byte(0x23, 0x01)  # Power On
    i2c_bus.write_byte(0x23, 0x47)  # MTreg 254 = 111_11110
    i2c_bus.write_byte(0x23, 0x7E)
    assert chip.mtreg == 254
    i2c_bus.write_byte(0x23, 0x20)  # One Time H-Resolution Mode
    clock.advance(0.120 * 254 / 69 - 0.001)
    assert i2c_bus.read_word_data(0x23, 0x01) == 0  # still measuring: old result
    clock.advance(0.002)
    data = bytes(i2c_bus.read_i2c_block_data(0x23, 0x01, 2))
    assert int.from_bytes(data, "big") == int(500 * 1.2 * 254 / 69)


def test_bh1750_sim_reset_only_when_powered_on(clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750) -> None:
    i2c_bus.write_byte(0x23, 0x20)  # One Time H-Resolution Mode
    clock.advance(0.2)
    assert not chip.powered
    i2c_bus.write_byte(0x23, 0x07)  # Reset
    assert i2c_bus.read_byte(0x23) == 600 >> 8  # reset ignored while powered down
    i2c_bus.write_byte(0x23, 0x01)  # Power On
    i2c_bus.write_byte(0x23, 0x07)  # Reset
    assert i2c_bus.read_byte(0x23) == 0


def test_bh1750_sim_high_res2_and_saturation(clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750) -> None:
    i2c_bus.write_byte(0x23, 0x21)  # One Time H-Resolution Mode2
    clock.advance(0.2)
    high, low = i2c_bus.read_i2c_block_data(0x23, 0, 2)
    assert high << 8 | low == 1200  # 500 lx in half-lux steps
    chip.illuminance_lx = 40_000.0
    i2c_bus.write_byte(0x23, 0x21)  # One Time H-Resolution Mode2
    clock.advance(0.2)
    assert i2c_bus.read_i2c_block_data(0x23, 0, 2) == [0xFF, 0xFF]


def test_bh1750_saturated_at_least_sensitive_range_is_out_of_range(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750
) -> None:
    chip.illuminance_lx = 150_000.0
    with pytest.raises(OutOfRangeError) as info:
        _driver(i2c_bus, clock).read()
    assert (info.value.part, info.value.bus, info.value.address) == ("BH1750", "i2c-1", "0x23")


@pytest.mark.parametrize("mode", ["one_time", "continuous"])
def test_bh1750_unplugged_then_replugged(clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750, mode: str) -> None:
    driver = _driver(i2c_bus, clock, mode=mode, auto_range=False, mtreg=138)
    assert _lux(driver) == pytest.approx(500.0, abs=1)
    i2c_bus.detach(0x23)
    with pytest.raises(NotPluggedError) as info:
        driver.read()
    error = info.value
    assert (error.part, error.bus, error.address) == ("BH1750", "i2c-1", "0x23")
    assert isinstance(error.__cause__, OSError) and error.__cause__.errno == errno.EREMOTEIO
    assert "BH1750 on i2c-1 at 0x23" in str(error)
    with pytest.raises(NotPluggedError):
        driver.read()
    chip.illuminance_lx = 250.0
    i2c_bus.attach(0x23, chip)  # comes back powered down with MTreg 69 and an empty register
    assert chip.mtreg == 69
    assert _lux(driver) == pytest.approx(250.0, abs=1)
    assert chip.mtreg == 138


def test_bh1750_second_address(clock: SimClock, i2c_bus: SimI2CBus) -> None:
    i2c_bus.attach(0x5C, SimBH1750(clock.monotonic, illuminance_lx=42.0))
    driver = BH1750(i2c_bus, 0x5C, bus_name="i2c-1", sleep=clock.sleep)
    assert _lux(driver) == pytest.approx(42.0, rel=REL_TOLERANCE)
    i2c_bus.detach(0x5C)
    with pytest.raises(NotPluggedError) as info:
        driver.read()
    assert info.value.address == "0x5c"


def test_bh1750_close_powers_down(clock: SimClock, i2c_bus: SimI2CBus, chip: SimBH1750) -> None:
    driver = _driver(i2c_bus, clock, mode="continuous")
    _lux(driver)
    assert chip.powered
    driver.close()
    assert not chip.powered
    i2c_bus.detach(0x23)
    driver.close()  # absent chip: nothing to power down, no error


class KernelBoundChip(SimI2CChip):
    """A part bound to a kernel driver: Linux answers EBUSY to user-space transfers."""

    def write(self, data: bytes) -> None:
        raise OSError(errno.EBUSY, "Device or resource busy")

    def read(self, length: int) -> bytes:
        raise OSError(errno.EBUSY, "Device or resource busy")


def test_scan_i2c_finds_exactly_the_attached_addresses(clock: SimClock, i2c_bus: SimI2CBus) -> None:
    assert scan_i2c(i2c_bus) == []
    i2c_bus.attach(0x44, SimSHT31(clock.monotonic))
    i2c_bus.attach(0x23, SimBH1750(clock.monotonic))
    i2c_bus.attach(0x10, SimVEML7700(clock.monotonic))
    i2c_bus.attach(0x68, KernelBoundChip())
    i2c_bus.attach(0x05, SimBH1750(clock.monotonic))  # outside the scanned 0x08..0x77 window
    assert scan_i2c(i2c_bus) == [0x10, 0x23, 0x44, 0x68]
    i2c_bus.detach(0x23)
    assert scan_i2c(i2c_bus) == [0x10, 0x44, 0x68]
