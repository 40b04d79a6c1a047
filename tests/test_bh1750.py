"""BH1750FVI pure conversions against the ROHM datasheet, and constructor validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers import bh1750
from drivers.bh1750 import BH1750, choose_range, counts_to_lux, measurement_time_s, mtreg_opcodes, resolution_lx
from drivers.sim.i2c import SimI2CBus


def test_bh1750_datasheet_example_1000_counts_is_833_lx() -> None:
    assert counts_to_lux(1000, 69, "high") == pytest.approx(833.3, abs=0.05)


def test_bh1750_datasheet_example_0x8390_is_28067_lx() -> None:
    # datasheet: High Byte 1000_0011, Low Byte 1001_0000 -> (2^15+2^9+2^8+2^7+2^4)/1.2 = 28067 lx
    assert counts_to_lux(0x8390, 69, "high") == pytest.approx(28067, abs=0.5)


def test_bh1750_high_res_mode2_bit0_is_half_a_step() -> None:
    one_step_h = counts_to_lux(1, 69, "high")
    assert counts_to_lux(1001, 69, "high2") - counts_to_lux(1000, 69, "high2") == pytest.approx(one_step_h / 2)
    assert counts_to_lux(2000, 69, "high2") == pytest.approx(833.3, abs=0.05)


def test_bh1750_mtreg_scales_sensitivity() -> None:
    assert counts_to_lux(1000, 138, "high") == pytest.approx(833.33 / 2, rel=1e-4)
    assert counts_to_lux(1000, 31, "high") == pytest.approx(833.33 * 69 / 31, rel=1e-4)


def test_bh1750_mtreg_opcodes_split_high_and_low_bits() -> None:
    assert mtreg_opcodes(69) == (0b01000_010, 0b011_00101)  # default MTreg 0100_0101
    assert mtreg_opcodes(31) == (0x40, 0x7F)
    assert mtreg_opcodes(254) == (0x47, 0x7E)
    with pytest.raises(ValueError):
        mtreg_opcodes(30)
    with pytest.raises(ValueError):
        mtreg_opcodes(255)


def test_bh1750_measurement_time_uses_maximum_and_scales_with_mtreg() -> None:
    assert measurement_time_s(69, "high") == pytest.approx(0.180)
    assert measurement_time_s(69, "high2") == pytest.approx(0.180)
    assert measurement_time_s(69, "low") == pytest.approx(0.024)
    assert measurement_time_s(138, "high") == pytest.approx(0.360)


def test_bh1750_finest_resolution_is_datasheet_0_11_lx() -> None:
    assert resolution_lx(254, "high2") == pytest.approx(0.11, abs=0.005)
    assert resolution_lx(69, "low") == pytest.approx(4.0)


def test_bh1750_widest_range_covers_full_sun() -> None:
    assert counts_to_lux(0xFFFF, 31, "high") > 100_000


def test_bh1750_choose_range_extremes() -> None:
    assert choose_range(0.0) == ("high2", 254)
    assert choose_range(0.05) == ("high2", 254)
    assert choose_range(100_000) == ("high", 31)
    resolution, mtreg = choose_range(10_000)
    assert resolution == "high2" and 31 <= mtreg < 254


@given(st.floats(min_value=0.01, max_value=120_000))
def test_bh1750_choose_range_never_saturates(lux: float) -> None:
    resolution, mtreg = choose_range(lux)
    assert 31 <= mtreg <= 254
    assert lux * bh1750.counts_per_lx(mtreg, resolution) < 0xFFFF


def test_bh1750_counts_to_lux_rejects_unknown_resolution() -> None:
    with pytest.raises(ValueError):
        counts_to_lux(1, 69, "ultra")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"address": 0x24},
        {"mode": "sometimes"},
        {"mtreg": 20},
        {"resolution": "medium"},
        {"bus_name": ""},
        {"sleep": None},
    ],
)
def test_bh1750_constructor_validates(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"bus_name": "i2c-1", "sleep": lambda s: None, **kwargs}
    with pytest.raises(ValueError):
        BH1750(SimI2CBus(1), **args)  # type: ignore[arg-type]
