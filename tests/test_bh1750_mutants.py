"""BH1750 driver behaviour a mutation run (bench/mutation.py) found untested: ranges, re-ranging, errors.

Facts from ROHM "BH1750FVI Technical Note" 2009.04 Rev.B, written out here: 1.2 counts per lx in
H-resolution mode at the default MTreg 69, twice as many in H-resolution mode2, sensitivity
proportional to MTreg (31..254), result 0..65535, max. measurement time 180 ms (H, H2) at MTreg 69
and proportional to MTreg; opcodes Power On 0x01, Reset 0x07, Power Down 0x00, One Time H 0x20,
One Time H2 0x21, Continuous H 0x10, MTreg high bits 01000_MT[7:5], low bits 011_MT[4:0].
The driver's own design rules, restated: aim at 40000 counts, re-range when the better range is at
least twice as sensitive or the count is above 60000, at most three measurements per read.
"""

from __future__ import annotations

import pytest

from drivers.bh1750 import (
    BH1750,
    choose_range,
    counts_per_lx,
    counts_to_lux,
    measurement_time_s,
    resolution_lx,
)
from drivers.errors import NotPluggedError, OutOfRangeError
from drivers.sim.i2c import SimI2CBus, SimI2CChip, nack

POWER_DOWN, POWER_ON, RESET = 0x00, 0x01, 0x07
ONE_TIME_H, ONE_TIME_H2, CONTINUOUS_H = 0x20, 0x21, 0x10


def _mt(mtreg: int) -> list[int]:
    return [0b0100_0000 | mtreg >> 5, 0b0110_0000 | mtreg & 0b1_1111]


def _lx(count: int, mtreg: int, h2: bool = False) -> float:
    return count / (1.2 * mtreg / 69 * (2 if h2 else 1))


class _ScriptedChip(SimI2CChip):
    """Records every opcode; answers each 2-byte read with the next scripted count."""

    def __init__(self, *counts: int) -> None:
        self.written: list[int] = []
        self.counts = list(counts)
        self.fail_next_read = False

    def write(self, data: bytes) -> None:
        self.written.extend(data)

    def read(self, length: int) -> bytes:
        if self.fail_next_read:
            self.fail_next_read = False
            raise nack()
        count = self.counts.pop(0)
        return bytes([count >> 8, count & 0xFF])


def _driver(chip: _ScriptedChip, sleeps: list[float] | None = None, **kwargs: object) -> BH1750:
    bus = SimI2CBus(1)
    bus.attach(0x23, chip)
    record = sleeps.append if sleeps is not None else (lambda s: None)
    return BH1750(bus, bus_name="i2c-1", sleep=record, **kwargs)  # type: ignore[arg-type]


def _measurements(chip: _ScriptedChip) -> int:
    return sum(1 for b in chip.written if b in (ONE_TIME_H, ONE_TIME_H2, CONTINUOUS_H))


def test_bh1750_defaults_are_h_resolution_at_mtreg_69() -> None:
    assert counts_per_lx() == pytest.approx(1.2)
    assert counts_to_lux(1200) == pytest.approx(1000.0)
    assert resolution_lx() == pytest.approx(1 / 1.2)
    assert measurement_time_s() == pytest.approx(0.180)


def test_bh1750_argument_errors_name_the_choices() -> None:
    with pytest.raises(ValueError, match=r"^resolution must be one of \('high', 'high2', 'low'\), not 'ultra'$"):
        counts_to_lux(1, 69, "ultra")
    with pytest.raises(ValueError, match=r"^mtreg must be an int in 31\.\.254, not 30$"):
        _driver(_ScriptedChip(), mtreg=30)
    with pytest.raises(ValueError, match=r"^mode must be one of \('one_time', 'continuous'\), not 'often'$"):
        _driver(_ScriptedChip(), mode="often")
    with pytest.raises(ValueError, match=r"^resolution must be one of \('high', 'high2', 'low'\), not 'x'$"):
        _driver(_ScriptedChip(), resolution="x")


def test_bh1750_choose_range_exact_mtreg() -> None:
    # 10000 lx in H2 at MTreg m gives 10000 * 2.4 * m / 69 counts: 40000 counts at m = 115.
    assert choose_range(10_000) == ("high2", 115)
    # 37000 lx: H2 at MTreg 31 (the minimum) gives 39896 counts, still allowed.
    assert choose_range(37_000) == ("high2", 31)
    # 60000 lx needs MTreg 19 in H2 (below 31): H mode, 40000 * 69 / (60000 * 1.2) = 38.3.
    assert choose_range(60_000) == ("high", 38)


def test_bh1750_default_driver_is_one_time_h_mode_without_re_ranging_a_bright_sky() -> None:
    # 0x8390 = 33680 counts = 28067 lx: H2 would only gain 40/69*2 = 1.16, under the factor 2.
    chip = _ScriptedChip(0x8390)
    sleeps: list[float] = []
    (reading,) = _driver(chip, sleeps).read()
    assert chip.written == [POWER_ON, RESET, *_mt(69), ONE_TIME_H]
    assert (reading.name, reading.quantity, reading.unit) == ("illuminance_lx", "illuminance", "lx")
    assert reading.value == pytest.approx(28067, abs=0.5)
    assert sleeps == [pytest.approx(0.180)]


def test_bh1750_default_driver_re_ranges_in_the_dark() -> None:
    # 100 counts at H/69 = 83 lx: H2 at MTreg 254 is 7.4 times as sensitive, so measure again there.
    chip = _ScriptedChip(100, 1000)
    sleeps: list[float] = []
    (reading,) = _driver(chip, sleeps).read()
    assert chip.written == [POWER_ON, RESET, *_mt(69), ONE_TIME_H, POWER_ON, *_mt(254), ONE_TIME_H2]
    assert reading.value == pytest.approx(_lx(1000, 254, h2=True))
    assert sleeps == [pytest.approx(0.180), pytest.approx(0.180 * 254 / 69)]


def test_bh1750_no_re_ranging_when_disabled() -> None:
    chip = _ScriptedChip(100)
    (reading,) = _driver(chip, auto_range=False).read()
    assert _measurements(chip) == 1
    assert reading.value == pytest.approx(_lx(100, 69))


def test_bh1750_at_most_three_measurements_per_read() -> None:
    # Saturated at H/69, then 1000 counts at H/31 (1855 lx: H2/254 is 16 times as sensitive),
    # then 65000 counts at H2/254: near full scale, a fourth measurement would be wanted.
    chip = _ScriptedChip(0xFFFF, 1000, 65_000, 40_000)
    driver = _driver(chip)
    (reading,) = driver.read()
    assert _measurements(chip) == 3
    assert chip.written == [
        POWER_ON, RESET, *_mt(69), ONE_TIME_H, POWER_ON, *_mt(31), ONE_TIME_H, POWER_ON, *_mt(254), ONE_TIME_H2,
    ]
    assert reading.value == pytest.approx(_lx(65_000, 254, h2=True))


def test_bh1750_a_range_exactly_twice_as_sensitive_is_taken() -> None:
    # 19990 counts at H/69 = 16658 lx: the wanted range is H2 at the same MTreg 69, gain exactly 2.
    chip = _ScriptedChip(19_990, 39_000)
    (reading,) = _driver(chip).read()
    assert chip.written == [POWER_ON, RESET, *_mt(69), ONE_TIME_H, POWER_ON, ONE_TIME_H2]
    assert reading.value == pytest.approx(_lx(39_000, 69, h2=True))


def test_bh1750_near_full_scale_re_ranges_only_above_60000_counts() -> None:
    # 60000 counts at H/69 = 50000 lx: the wanted range H/46 is less sensitive (gain 0.67);
    # 60001 counts: H at MTreg 40000 * 69 / 60001 = 45.999, so 45.
    chip = _ScriptedChip(60_000)
    (reading,) = _driver(chip).read()
    assert _measurements(chip) == 1 and reading.value == pytest.approx(50_000)
    chip = _ScriptedChip(60_001, 40_000)
    (reading,) = _driver(chip).read()
    assert chip.written == [POWER_ON, RESET, *_mt(69), ONE_TIME_H, POWER_ON, *_mt(45), ONE_TIME_H]
    assert reading.value == pytest.approx(_lx(40_000, 45))


def test_bh1750_full_scale_is_saturation_with_the_limit_in_lux() -> None:
    chip = _ScriptedChip(0xFFFF)
    driver = _driver(chip, auto_range=False, mtreg=31)
    with pytest.raises(OutOfRangeError) as caught:
        driver.read()
    # 65535 counts / (1.2 * 31 / 69) = 121556.9 lx
    assert caught.value.reason == "saturated: more light than the 121557 lx this range can measure"
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("BH1750", "i2c-1", "0x23")


def test_bh1750_one_below_full_scale_is_a_reading() -> None:
    chip = _ScriptedChip(0xFFFE)
    (reading,) = _driver(chip, auto_range=False, mtreg=31).read()
    assert reading.value == pytest.approx(_lx(0xFFFE, 31))


def test_bh1750_least_sensitive_range_saturated_gives_up() -> None:
    chip = _ScriptedChip(0xFFFF, 0xFFFF, 0xFFFF)
    with pytest.raises(OutOfRangeError):
        _driver(chip).read()
    assert _measurements(chip) == 2  # H/69, then H/31: there is nothing less sensitive


def test_bh1750_one_time_mode_reprograms_only_what_changed() -> None:
    # One time mode powers down after each measurement: Power On and the mode again, MTreg kept.
    chip = _ScriptedChip(20_000, 20_000)
    driver = _driver(chip, auto_range=False)
    driver.read()
    chip.written.clear()
    driver.read()
    assert chip.written == [POWER_ON, ONE_TIME_H]


def test_bh1750_continuous_mode_reads_without_reprogramming() -> None:
    chip = _ScriptedChip(20_000, 21_000)
    driver = _driver(chip, mode="continuous", auto_range=False)
    driver.read()
    chip.written.clear()
    (reading,) = driver.read()
    assert chip.written == []
    assert reading.value == pytest.approx(_lx(21_000, 69))


def test_bh1750_after_a_failure_the_chip_is_reset_again() -> None:
    chip = _ScriptedChip(20_000, 20_000)
    driver = _driver(chip, auto_range=False)
    chip.fail_next_read = True
    with pytest.raises(NotPluggedError) as caught:
        driver.read()
    assert (caught.value.part, caught.value.bus, caught.value.address) == ("BH1750", "i2c-1", "0x23")
    assert caught.value.reason.startswith("no acknowledge at this address")
    chip.written.clear()
    driver.read()
    assert chip.written == [POWER_ON, RESET, *_mt(69), ONE_TIME_H]


def test_bh1750_close_powers_down_and_forgets_the_settings() -> None:
    chip = _ScriptedChip(20_000, 20_000)
    driver = _driver(chip, mode="continuous", auto_range=False)
    driver.read()
    chip.written.clear()
    driver.close()
    assert chip.written == [POWER_DOWN]
    chip.written.clear()
    driver.read()
    assert chip.written == [POWER_ON, RESET, *_mt(69), CONTINUOUS_H]


def test_bh1750_close_of_an_absent_chip_is_quiet() -> None:
    driver = BH1750(SimI2CBus(1), bus_name="i2c-1", sleep=lambda s: None)
    driver.close()


def test_bh1750_h2_saturation_limit_is_half_the_h_limit() -> None:
    chip = _ScriptedChip(0xFFFF)
    with pytest.raises(OutOfRangeError) as caught:
        _driver(chip, auto_range=False, resolution="high2", mtreg=31).read()
    # 65535 counts / (2.4 * 31 / 69) = 60778.4 lx
    assert caught.value.reason == "saturated: more light than the 60778 lx this range can measure"


def test_bh1750_re_ranging_from_h2_reads_the_h2_illuminance() -> None:
    # 61000 counts at H2/69 = 25417 lx, near full scale: H2 at MTreg 40000 * 69 / (25417 * 2.4) = 45.
    chip = _ScriptedChip(61_000, 40_000)
    (reading,) = _driver(chip, resolution="high2").read()
    assert chip.written == [POWER_ON, RESET, *_mt(69), ONE_TIME_H2, POWER_ON, *_mt(45), ONE_TIME_H2]
    assert reading.value == pytest.approx(_lx(40_000, 45, h2=True))


def test_bh1750_low_resolution_waits_its_own_24_ms() -> None:
    sleeps: list[float] = []
    _driver(_ScriptedChip(100), sleeps, auto_range=False, resolution="low").read()
    assert sleeps == [pytest.approx(0.024)]


class _OnceFailingBus(SimI2CBus):
    """A bus that already speaks in SensorErrors (as a wrapped bus may), failing one read."""

    def __init__(self, error: NotPluggedError) -> None:
        super().__init__(1)
        self.error: NotPluggedError | None = error

    def i2c_rdwr(self, *messages: object) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        super().i2c_rdwr(*messages)


def test_bh1750_sensor_error_from_the_bus_passes_through_and_resets_the_chip() -> None:
    error = NotPluggedError("gone", part="BH1750", bus="i2c-9", address="0x23")
    bus = _OnceFailingBus(error)
    chip = _ScriptedChip(20_000)
    bus.attach(0x23, chip)
    driver = BH1750(bus, bus_name="i2c-1", sleep=lambda s: None, auto_range=False)
    with pytest.raises(NotPluggedError) as caught:
        driver.read()
    assert caught.value is error
    chip.written.clear()
    driver.read()
    assert chip.written == [POWER_ON, RESET, *_mt(69), ONE_TIME_H]
