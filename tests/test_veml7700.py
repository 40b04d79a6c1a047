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
    resolution_lx_per_count,
)

# App note "Designing the VEML7700 into an application", resolution table (lx/count)
RESOLUTION_TABLE: dict[int, dict[float, float]] = {
    800: {2.0: 0.0036, 1.0: 0.0072, 0.25: 0.0288, 0.125: 0.0576},
    400: {2.0: 0.0072, 1.0: 0.0144, 0.25: 0.0576, 0.125: 0.1152},
    200: {2.0: 0.0144, 1.0: 0.0288, 0.25: 0.1152, 0.125: 0.2304},
    100: {2.0: 0.0288, 1.0: 0.0576, 0.25: 0.2304, 0.125: 0.4608},
    50: {2.0: 0.0576, 1.0: 0.1152, 0.25: 0.4608, 0.125: 0.9216},
    25: {2.0: 0.1152, 1.0: 0.2304, 0.25: 0.9216, 0.125: 1.8432},
}


@pytest.mark.parametrize(
    ("it_ms", "gain", "expected"),
    [(it, gain, res) for it, row in RESOLUTION_TABLE.items() for gain, res in row.items()],
)
def test_veml7700_resolution_table(it_ms: int, gain: float, expected: float) -> None:
    assert resolution_lx_per_count(gain, it_ms) == pytest.approx(expected, rel=1e-9)


def test_veml7700_maximum_illuminance_table_ends() -> None:
    assert 0xFFFF * resolution_lx_per_count(2.0, 800) == pytest.approx(236, rel=0.002)
    assert 0xFFFF * resolution_lx_per_count(0.125, 25) == pytest.approx(120796, rel=1e-4)


def test_veml7700_correction_polynomial() -> None:
    assert correct_high_lux(0.0) == 0.0
    expected = 6.0135e-13 * 1e12 - 9.3924e-9 * 1e9 + 8.1488e-5 * 1e6 + 1.0023 * 1e3
    assert correct_high_lux(1000.0) == pytest.approx(expected)
    assert correct_high_lux(1000.0) == pytest.approx(1075.0, abs=0.01)
    assert correct_high_lux(10.0) == pytest.approx(10.03, abs=0.005)  # nearly linear when dim


def test_veml7700_counts_to_lux_corrects_only_low_gains() -> None:
    assert counts_to_lux(2000, 0.125, 100) == pytest.approx(correct_high_lux(2000 * 0.4608))
    assert counts_to_lux(2000, 0.25, 100) == pytest.approx(correct_high_lux(2000 * 0.2304))
    assert counts_to_lux(2000, 1.0, 100) == pytest.approx(2000 * 0.0576)
    assert counts_to_lux(2000, 2.0, 800) == pytest.approx(2000 * 0.0036)


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
    assert app_note_setting(1.0) == (2.0, 400)  # 69 counts at 200 ms, 138 at 400 ms
    assert app_note_setting(10.0) == (1.0, 100)
    assert app_note_setting(100.0) == (0.125, 100)  # 217 counts at the starting point
    assert app_note_setting(7_500.0) == (0.125, 50)  # 16276 counts at 100 ms: shorten IT
    assert app_note_setting(22_000.0) == (0.125, 25)


@pytest.mark.parametrize(
    "kwargs",
    [{"address": 0x11}, {"gain": 4.0}, {"integration_time_ms": 300}, {"bus_name": ""}, {"sleep": 3}],
)
def test_veml7700_constructor_validates(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"bus_name": "i2c-1", "sleep": lambda s: None, **kwargs}
    with pytest.raises(ValueError):
        VEML7700(SimI2CBus(1), **args)  # type: ignore[arg-type]
