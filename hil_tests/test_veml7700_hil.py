"""VEML7700 driver against the simulated VEML7700 on a simulated I2C bus.

Accuracy target: within 2 % of the simulated true illuminance, or one count of the chip's
resolution plus 2 % when that is coarser (0.0042 lx at gain 2 / 800 ms, datasheet Rev 1.7, so
0.05 lx reads as 11 counts = 0.0462 lx).
"""

from __future__ import annotations

import errno

import pytest

from drivers.errors import NotPluggedError, OutOfRangeError
from drivers.sim.clock import SimClock
from drivers.sim.i2c import SimI2CBus, SimI2CChip
from drivers.sim.veml7700 import SimVEML7700
from drivers.veml7700 import (
    CORRECTED_GAINS,
    GAIN_BITS,
    IT_BITS,
    IT_MARGIN,
    VEML7700,
    WAKE_UP_S,
    Register,
    correct_high_lux,
    counts_to_lux,
    resolution_lx_per_count,
)

LIGHT_LEVELS_LX = (0.05, 1.0, 10.0, 100.0, 1_000.0, 10_000.0, 50_000.0, 100_000.0)
REL_TOLERANCE = 0.02


@pytest.fixture
def chip(clock: SimClock, i2c_bus: SimI2CBus) -> SimVEML7700:
    sim = SimVEML7700(clock.monotonic, illuminance_lx=500.0)
    i2c_bus.attach(0x10, sim)
    return sim


def _driver(i2c_bus: SimI2CBus, clock: SimClock, **kwargs: object) -> VEML7700:
    return VEML7700(i2c_bus, bus_name="i2c-1", sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


def _lux(driver: VEML7700) -> float:
    (result,) = driver.read()
    assert result.name == "illuminance_lx" and result.quantity == "illuminance" and result.unit == "lx"
    return result.value


def _tolerance(true_lx: float, driver: VEML7700) -> float:
    step = resolution_lx_per_count(driver.gain, driver.integration_time_ms)
    return max(REL_TOLERANCE * true_lx, step + REL_TOLERANCE * true_lx if step > 0.01 * true_lx else 0.0)


@pytest.mark.parametrize("true_lx", LIGHT_LEVELS_LX)
def test_veml7700_auto_range_from_moonlight_to_full_sun(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700, true_lx: float
) -> None:
    chip.illuminance_lx = true_lx
    driver = _driver(i2c_bus, clock)
    assert _lux(driver) == pytest.approx(true_lx, abs=_tolerance(true_lx, driver))
    assert (chip.gain, chip.integration_time_ms) == (driver.gain, driver.integration_time_ms)


def test_veml7700_moonlight_is_limited_by_resolution(clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700) -> None:
    chip.illuminance_lx = 0.05
    driver = _driver(i2c_bus, clock)
    value = _lux(driver)
    assert (driver.gain, driver.integration_time_ms) == (2.0, 800)
    assert value == pytest.approx(11 * 0.0042)  # 0.0042 lx/count at gain 2, 800 ms (Rev 1.7)
    assert abs(value - 0.05) < 0.0042


def test_veml7700_auto_range_follows_a_day_up_and_down(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700
) -> None:
    driver = _driver(i2c_bus, clock)
    for true_lx in LIGHT_LEVELS_LX + LIGHT_LEVELS_LX[::-1]:
        chip.illuminance_lx = true_lx
        clock.advance(60.0)
        assert _lux(driver) == pytest.approx(true_lx, abs=_tolerance(true_lx, driver))


@pytest.mark.parametrize(
    ("true_lx", "setting"),
    [(0.05, (2.0, 800)), (1.0, (2.0, 400)), (10.0, (1.0, 100)), (100.0, (0.125, 100)),
     (1_000.0, (0.125, 100)), (10_000.0, (0.125, 50)), (100_000.0, (0.125, 25))],
)
def test_veml7700_auto_range_lands_where_the_app_note_does(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700, true_lx: float, setting: tuple[float, int]
) -> None:
    chip.illuminance_lx = true_lx
    driver = _driver(i2c_bus, clock)
    _lux(driver)
    assert (driver.gain, driver.integration_time_ms) == setting


def test_veml7700_high_lux_correction_is_needed(clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700) -> None:
    chip.illuminance_lx = 50_000.0
    driver = _driver(i2c_bus, clock)
    value = _lux(driver)
    counts = i2c_bus.read_word_data(0x10, Register.ALS)
    linear = counts * resolution_lx_per_count(driver.gain, driver.integration_time_ms)
    assert linear < 0.5 * 50_000.0  # the raw response is far from linear up here
    assert value == pytest.approx(50_000.0, rel=REL_TOLERANCE)


@pytest.mark.parametrize("gain", sorted(GAIN_BITS))
@pytest.mark.parametrize("it_ms", sorted(IT_BITS))
def test_veml7700_every_fixed_setting(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700, gain: float, it_ms: int
) -> None:
    step = resolution_lx_per_count(gain, it_ms)
    # gains 1 and 2 are for dim light (the app note corrects only gains 1/8 and 1/4)
    true_lx = counts_to_lux(2000, gain, it_ms) if gain in CORRECTED_GAINS else min(2000 * step, 40.0)
    chip.illuminance_lx = true_lx
    driver = _driver(i2c_bus, clock, auto_range=False, gain=gain, integration_time_ms=it_ms)
    assert _lux(driver) == pytest.approx(true_lx, abs=step + 0.01 * true_lx)
    assert (chip.gain, chip.integration_time_ms) == (gain, it_ms)
    assert not chip.shut_down


def test_veml7700_high_gain_reads_linear_values_as_the_app_note_says(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700
) -> None:
    driver = _driver(i2c_bus, clock, auto_range=False, gain=1.0, integration_time_ms=100)
    chip.illuminance_lx = 20.0
    assert _lux(driver) == pytest.approx(20.0, rel=0.01)
    chip.illuminance_lx = 500.0  # out of the app note's regime for gain 1: no correction, reads low
    clock.advance(1.0)
    assert _lux(driver) == pytest.approx(7158 * 0.0672, rel=1e-9)  # 481.0 lx: 0.0672 lx/count at gain 1, 100 ms


def test_veml7700_driver_waits_for_the_integration(clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700) -> None:
    driver = _driver(i2c_bus, clock, auto_range=False, gain=0.25, integration_time_ms=400)
    before = clock.monotonic()
    assert _lux(driver) == pytest.approx(500.0, rel=0.001)
    assert clock.monotonic() - before == pytest.approx(WAKE_UP_S + 0.400 * IT_MARGIN)


def test_veml7700_reading_too_early_gives_the_previous_result(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700
) -> None:
    hasty = VEML7700(i2c_bus, bus_name="i2c-1", sleep=lambda s: None, auto_range=False)
    assert _lux(hasty) == 0.0  # just powered up: no integration finished yet
    clock.advance(1.0)
    assert _lux(hasty) == pytest.approx(500.0, rel=0.002)
    chip.illuminance_lx = 100.0
    assert _lux(hasty) == pytest.approx(500.0, rel=0.002)  # still the previous integration
    careful = _driver(i2c_bus, clock, auto_range=False)
    assert _lux(careful) == pytest.approx(100.0, rel=0.01)


def test_veml7700_sim_updates_only_after_integration_time(
    clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700
) -> None:
    assert chip.shut_down and i2c_bus.read_word_data(0x10, Register.ALS_CONF) == 0x0001
    assert i2c_bus.read_word_data(0x10, Register.ID) == 0xC481
    assert i2c_bus.read_byte_data(0x10, Register.ID) == 0x81  # low byte first
    i2c_bus.write_word_data(0x10, Register.ALS_CONF, 0x0000)  # gain x1 (00), IT 100 ms (0000), ALS_SD 0
    clock.advance(0.100)
    assert i2c_bus.read_word_data(0x10, Register.ALS) == 0  # wake-up time not yet over
    clock.advance(0.0026)
    counts = i2c_bus.read_word_data(0x10, Register.ALS)
    assert correct_high_lux(counts * 0.0672) == pytest.approx(500.0, abs=0.0672 * 1.1)  # 0.0672 lx/count
    i2c_bus.write_word_data(0x10, Register.ALS_CONF, 0x0001)  # ALS_SD 1
    chip.illuminance_lx = 50.0
    clock.advance(1.0)
    assert i2c_bus.read_word_data(0x10, Register.ALS) == counts  # shut down: frozen result


def test_veml7700_sim_power_saving_slows_refresh(clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700) -> None:
    i2c_bus.write_word_data(0x10, Register.POWER_SAVING, 0b011)  # PSM mode 2 (1 s wait), enabled
    i2c_bus.write_word_data(0x10, Register.ALS_CONF, 0x0000)
    clock.advance(0.11)
    first = i2c_bus.read_word_data(0x10, Register.ALS)
    chip.illuminance_lx = 50.0
    clock.advance(0.9)
    assert i2c_bus.read_word_data(0x10, Register.ALS) == first
    clock.advance(0.2)
    assert i2c_bus.read_word_data(0x10, Register.ALS) < first


def test_veml7700_sim_threshold_interrupt_flags(clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700) -> None:
    i2c_bus.write_word_data(0x10, Register.ALS_WH, 1000)
    i2c_bus.write_word_data(0x10, Register.ALS_WL, 10)
    i2c_bus.write_word_data(0x10, Register.ALS_CONF, 0x0002)  # ALS_INT_EN 1
    clock.advance(0.2)
    assert i2c_bus.read_word_data(0x10, Register.ALS_INT) == 1 << 14  # high threshold crossed
    assert i2c_bus.read_word_data(0x10, Register.ALS_INT) == 0  # cleared by reading
    assert i2c_bus.read_word_data(0x10, Register.WHITE) > 0


class OtherChip(SimI2CChip):
    """Some other part answering at 0x10 with zero words."""

    def write(self, data: bytes) -> None:
        pass

    def read(self, length: int) -> bytes:
        return bytes(length)


def test_veml7700_wrong_chip_at_address_is_reported(clock: SimClock, i2c_bus: SimI2CBus) -> None:
    i2c_bus.attach(0x10, OtherChip())
    with pytest.raises(OutOfRangeError, match="ID register reads 0x0000"):
        _driver(i2c_bus, clock).read()


def test_veml7700_unplugged_then_replugged(clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700) -> None:
    driver = _driver(i2c_bus, clock)
    assert _lux(driver) == pytest.approx(500.0, rel=REL_TOLERANCE)
    i2c_bus.detach(0x10)
    clock.advance(1.0)
    with pytest.raises(NotPluggedError) as info:
        driver.read()
    error = info.value
    assert (error.part, error.bus, error.address) == ("VEML7700", "i2c-1", "0x10")
    assert isinstance(error.__cause__, OSError) and error.__cause__.errno == errno.EREMOTEIO
    chip.illuminance_lx = 300.0
    i2c_bus.attach(0x10, chip)  # comes back shut down with empty results
    assert chip.shut_down
    clock.advance(1.0)
    assert _lux(driver) == pytest.approx(300.0, rel=REL_TOLERANCE)
    assert not chip.shut_down


def test_veml7700_close_shuts_down(clock: SimClock, i2c_bus: SimI2CBus, chip: SimVEML7700) -> None:
    driver = _driver(i2c_bus, clock)
    _lux(driver)
    driver.close()
    assert chip.shut_down
    i2c_bus.detach(0x10)
    driver.close()
