"""DS18B20 pure conversions and the 1-Wire CRC-8 against datasheet examples."""

from __future__ import annotations

import pytest

from drivers.ds18b20 import (
    kernel_t_milli_c,
    mask_undefined_bits,
    parse_w1_slave,
    raw_to_temperature_c,
    temperature_c_to_raw,
)
from drivers.onewire import check_rom_id, crc8_maxim

# Datasheet facts (Table 1, Table 2, the CRC-8) are in test_ds18b20_datasheet.py.
KERNEL_SAMPLE = "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"


def test_raw_to_temperature_c_rejects_more_than_16_bits() -> None:
    with pytest.raises(ValueError):
        raw_to_temperature_c(0x10000)


def test_crc8_maxim_matches_kernel_scratchpad_samples() -> None:
    assert crc8_maxim(bytes.fromhex("72 01 4b 46 7f ff 0e 10")) == 0x57
    assert crc8_maxim(bytes.fromhex("50 05 4b 46 7f ff 0c 10")) == 0x1C


def test_crc8_maxim_detects_a_single_bit_flip() -> None:
    assert crc8_maxim(bytes.fromhex("76 01 4b 46 7f ff 0e 10")) != 0x57


def test_parse_w1_slave_reads_the_kernel_sample() -> None:
    parsed = parse_w1_slave(KERNEL_SAMPLE)
    assert parsed.scratchpad == bytes.fromhex("72 01 4b 46 7f ff 0e 10 57")
    assert parsed.kernel_crc == 0x57
    assert parsed.kernel_crc_ok is True
    assert parsed.t_milli_c == 23125


def test_parse_w1_slave_reads_a_crc_no_verdict() -> None:
    parsed = parse_w1_slave("ff ff ff ff ff ff ff ff ff : crc=c9 NO\n00 00 00 00 00 00 00 00 00 t=-62\n")
    assert parsed.kernel_crc_ok is False
    assert parsed.t_milli_c == -62


@pytest.mark.parametrize(
    "text", ["", "garbage\n", "72 01 4b : crc=57 YES\n", "72 01 4b 46 7f ff 0e 10 57 : crc=57 MAYBE\n"]
)
def test_parse_w1_slave_rejects_malformed_files(text: str) -> None:
    with pytest.raises(ValueError):
        parse_w1_slave(text)


def test_mask_undefined_bits_clears_low_bits_below_12_bit_resolution() -> None:
    assert mask_undefined_bits(0x0197, 9) == 0x0190
    assert mask_undefined_bits(0x0197, 10) == 0x0194
    assert mask_undefined_bits(0x0197, 11) == 0x0196
    assert mask_undefined_bits(0x0197, 12) == 0x0197


def test_temperature_c_to_raw_at_9_bits_has_half_degree_steps() -> None:
    assert raw_to_temperature_c(temperature_c_to_raw(25.0625, 9)) == 25.0
    assert raw_to_temperature_c(temperature_c_to_raw(21.3, 9)) == 21.5
    assert temperature_c_to_raw(21.3, 9) & 0x07 == 0


def test_kernel_t_milli_c_truncates_towards_zero_like_w1_therm() -> None:
    assert kernel_t_milli_c(0x0172) == 23125
    assert kernel_t_milli_c(0x0001) == 62
    assert kernel_t_milli_c(0xFFFF) == -62
    assert kernel_t_milli_c(0xFF5E) == -10125


def test_check_rom_id_returns_family_and_rejects_bad_ids() -> None:
    assert check_rom_id("28-0316a2794aff") == "28"
    for bad in ("28-0316A2794AFF", "280316a2794aff", "28-0316a2794a", "w1_bus_master1"):
        with pytest.raises(ValueError):
            check_rom_id(bad)
