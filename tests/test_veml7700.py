"""VEML7700 pure conversions against the Vishay datasheet and app note, and validation."""

from __future__ import annotations

import pytest

from drivers.sim.i2c import SimI2CBus
from drivers.veml7700 import (
    VEML7700,
    als_conf_word,
    app_note_setting,
    correct_high_lux,
    counts_to_lux,
)


def test_veml7700_correction_polynomial() -> None:
    assert correct_high_lux(0.0) == 0.0
    expected = 6.0135e-13 * 1e12 - 9.3924e-9 * 1e9 + 8.1488e-5 * 1e6 + 1.0023 * 1e3
    assert correct_high_lux(1000.0) == pytest.approx(expected)
    assert correct_high_lux(1000.0) == pytest.approx(1075.0, abs=0.01)
    assert correct_high_lux(10.0) == pytest.approx(10.03, abs=0.005)  # nearly linear when dim


def test_veml7700_counts_to_lux_corrects_only_low_gains() -> None:
    # lx/count from datasheet Rev 1.7 (the resolution table lives in test_veml7700_datasheet.py)
    assert counts_to_lux(2000, 0.125, 100) == pytest.approx(correct_high_lux(2000 * 0.5376))
    assert counts_to_lux(2000, 0.25, 100) == pytest.approx(correct_high_lux(2000 * 0.2688))
    assert counts_to_lux(2000, 1.0, 100) == pytest.approx(2000 * 0.0672)
    assert counts_to_lux(2000, 2.0, 800) == pytest.approx(2000 * 0.0042)


def test_veml7700_als_conf_bit_fields() -> None:
    assert als_conf_word(1.0, 100) == 0x0000
    assert als_conf_word(2.0, 100) == 0b01 << 11
    assert als_conf_word(0.125, 100) == 0b10 << 11
    assert als_conf_word(0.25, 100) == 0b11 << 11
    assert als_conf_word(1.0, 25) == 0b1100 << 6
    assert als_conf_word(1.0, 50) == 0b1000 << 6
    assert als_conf_word(1.0, 800) == 0b0011 << 6
    assert als_conf_word(1.0, 100, shutdown=True) == 0x0001
    assert als_conf_word(1.0, 100, interrupt=True, persistence_bits=0b11) == 0b11_0010


def test_veml7700_app_note_flow_end_points() -> None:
    assert app_note_setting(0.0) == (2.0, 800)
    assert app_note_setting(1.0) == (2.0, 400)  # 59 counts at 200 ms, 119 at 400 ms
    assert app_note_setting(10.0) == (1.0, 100)
    assert app_note_setting(100.0) == (0.125, 100)  # 186 counts at the starting point
    assert app_note_setting(7_500.0) == (0.125, 50)  # 13951 counts at 100 ms: shorten IT
    assert app_note_setting(22_000.0) == (0.125, 25)


@pytest.mark.parametrize(
    "kwargs",
    [{"address": 0x11}, {"gain": 4.0}, {"integration_time_ms": 300}, {"bus_name": ""}, {"sleep": 3}],
)
def test_veml7700_constructor_validates(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"bus_name": "i2c-1", "sleep": lambda s: None, **kwargs}
    with pytest.raises(ValueError):
        VEML7700(SimI2CBus(1), **args)  # type: ignore[arg-type]
