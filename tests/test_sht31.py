"""SHT3x-DIS pure conversions against the Sensirion datasheet, and validation."""

from __future__ import annotations

import pytest

from drivers.sht31 import SHT31, crc8, raw_to_relative_humidity_pct, raw_to_temperature_c, split_words
from drivers.sim.i2c import SimI2CBus


def test_sht31_crc_datasheet_example() -> None:
    assert crc8(b"\xbe\xef") == 0x92


def test_sht31_crc_of_zero_and_all_ones() -> None:
    assert crc8(b"\x00\x00") == 0x81
    assert crc8(b"\xff\xff") == 0xAC


def test_sht31_temperature_formula_endpoints() -> None:
    assert raw_to_temperature_c(0) == pytest.approx(-45.0)
    assert raw_to_temperature_c(0xFFFF) == pytest.approx(130.0)
    assert raw_to_temperature_c(0x6666) == pytest.approx(-45 + 175 * 0x6666 / 65535)


def test_sht31_humidity_formula_endpoints() -> None:
    assert raw_to_relative_humidity_pct(0) == pytest.approx(0.0)
    assert raw_to_relative_humidity_pct(0xFFFF) == pytest.approx(100.0)
    assert raw_to_relative_humidity_pct(0x8000) == pytest.approx(50.0, abs=0.001)


def test_sht31_split_words_checks_each_crc() -> None:
    frame = b"\xbe\xef\x92\x00\x00\x81"
    assert split_words(frame) == [(0xBEEF, True), (0x0000, True)]
    assert split_words(b"\xbe\xef\x93\x00\x00\x81") == [(0xBEEF, False), (0x0000, True)]


@pytest.mark.parametrize(
    "kwargs", [{"address": 0x40}, {"repeatability": "best"}, {"bus_name": ""}, {"sleep": "no"}]
)
def test_sht31_constructor_validates(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"bus_name": "i2c-1", "sleep": lambda s: None, **kwargs}
    with pytest.raises(ValueError):
        SHT31(SimI2CBus(1), **args)  # type: ignore[arg-type]
