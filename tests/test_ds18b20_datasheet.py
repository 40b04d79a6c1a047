"""Maxim DS18B20 and 1-Wire CRC facts written out from the datasheets, never from the code under test.

Sources: Maxim DS18B20 datasheet 19-7487 Rev 6 (Table 1 temperature/data relationship, Table 2
thermometer resolution configuration, Figure 7 memory map, "CRC Generation"); Maxim application
note 27, "Understanding and Using Cyclic Redundancy Checks with Maxim 1-Wire and iButton Products".
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from drivers import ds18b20, onewire
from drivers.ds18b20 import (
    Scratchpad,
    mask_undefined_bits,
    raw_to_temperature_c,
    resolution_bits_from_config,
    temperature_c_to_raw,
)
from drivers.onewire import check_rom_id, crc8_maxim
from drivers.sim.onewire import POWER_ON_SCRATCHPAD, scratchpad_for, w1_slave_text

TWIN = Path(__file__).resolve().parents[1] / "drivers" / "sim" / "onewire.py"

# Table 1, "Temperature/Data Relationship" (12-bit resolution).
TABLE_1 = [
    (125.0, 0x07D0),
    (85.0, 0x0550),
    (25.0625, 0x0191),
    (10.125, 0x00A2),
    (0.5, 0x0008),
    (0.0, 0x0000),
    (-0.5, 0xFFF8),
    (-10.125, 0xFF5E),
    (-25.0625, 0xFE6F),
    (-55.0, 0xFC90),
]


@pytest.mark.parametrize(("temperature_c", "raw"), TABLE_1)
def test_ds18b20_table_1_raw_to_temperature(temperature_c: float, raw: int) -> None:
    assert raw_to_temperature_c(raw) == temperature_c


@pytest.mark.parametrize(("temperature_c", "raw"), TABLE_1)
def test_ds18b20_table_1_temperature_to_raw(temperature_c: float, raw: int) -> None:
    assert temperature_c_to_raw(temperature_c) == raw


def test_ds18b20_lsb_is_a_sixteenth_of_a_degree() -> None:
    # "Temperature Register Format": bit 0 is 2^-4 °C, sign-extended two's complement
    assert ds18b20.LSB_C == 0.0625
    assert raw_to_temperature_c(0x0001) == 0.0625
    assert raw_to_temperature_c(0xFFFF) == -0.0625


def test_ds18b20_range_power_on_value_and_family_code() -> None:
    # "Features": -55 °C to +125 °C; "The power-on reset value of the temperature register is +85 °C";
    # "64-Bit Lasered ROM Code": family code 28h
    assert (ds18b20.TEMPERATURE_MIN_C, ds18b20.TEMPERATURE_MAX_C) == (-55.0, 125.0)
    assert ds18b20.POWER_ON_RAW == 0x0550
    assert ds18b20.FAMILY_CODE == "28"
    assert check_rom_id("28-0316a2794aff") == "28"


def test_ds18b20_resolution_configuration_table_2() -> None:
    # "Configuration Register" 0 R1 R0 1 1 1 1 1; Table 2: 00 9-bit 93.75 ms (tCONV/8),
    # 01 10-bit 187.5 ms (tCONV/4), 10 11-bit 375 ms (tCONV/2), 11 12-bit 750 ms (tCONV)
    assert ds18b20.RESOLUTION_CONFIG == {9: 0b0_00_11111, 10: 0b0_01_11111, 11: 0b0_10_11111, 12: 0b0_11_11111}
    assert ds18b20.CONVERSION_TIME_S == {9: 0.09375, 10: 0.1875, 11: 0.375, 12: 0.75}
    for config, bits in ((0x1F, 9), (0x3F, 10), (0x5F, 11), (0x7F, 12)):
        assert resolution_bits_from_config(config) == bits


def test_ds18b20_undefined_bits_below_12_bit_resolution() -> None:
    # "If the DS18B20 is configured for 12-bit resolution, all bits in the temperature register will
    # contain valid data. For 11-bit resolution, bit 0 is undefined. For 10-bit resolution, bits 1 and 0
    # are undefined, and for 9-bit resolution bits 2, 1, and 0 are undefined."
    assert mask_undefined_bits(0xFFFF, 12) == 0xFFFF
    assert mask_undefined_bits(0xFFFF, 11) == 0xFFFE
    assert mask_undefined_bits(0xFFFF, 10) == 0xFFFC
    assert mask_undefined_bits(0xFFFF, 9) == 0xFFF8


def test_ds18b20_scratchpad_memory_map() -> None:
    # Figure 7: byte 0 temperature LSB, 1 MSB, 2 TH, 3 TL, 4 configuration, 5 reserved (FFh),
    # 6 reserved, 7 reserved (10h), 8 CRC
    assert [int(offset) for offset in Scratchpad] == list(range(9))
    assert (Scratchpad.TEMPERATURE_LSB, Scratchpad.TEMPERATURE_MSB, Scratchpad.CONFIGURATION) == (0, 1, 4)
    assert Scratchpad.CRC == 8
    assert ds18b20.SCRATCHPAD_LENGTH == 9


def test_maxim_crc8_polynomial() -> None:
    # "CRC Generation": CRC = X^8 + X^5 + X^4 + 1, shifted LSB first (0x31 reflected is 0x8C)
    assert onewire.CRC8_POLY_REFLECTED == 0b1000_1100
    assert crc8_maxim(b"\x01") == 0x5E  # app note 27 lookup table: entry 1 is 94 (5Eh)


def test_maxim_crc8_application_note_27_rom_example() -> None:
    # App note 27: family 02h, serial 00 00 00 01 B8 1C, CRC A2h; the CRC over all eight bytes is 0
    rom_without_crc = bytes.fromhex("02 1c b8 01 00 00 00")
    assert crc8_maxim(rom_without_crc) == 0xA2
    assert crc8_maxim(rom_without_crc + b"\xa2") == 0


def test_maxim_crc8_of_a_power_on_scratchpad() -> None:
    # Figure 7 power-up state: 50h 05h (+85 °C), TH, TL, 7Fh (12-bit), FFh, reserved, 10h, CRC
    assert crc8_maxim(bytes.fromhex("50 05 4b 46 7f ff 0c 10")) == 0x1C


def test_ds18b20_twin_scratchpads_follow_table_1_and_table_2() -> None:
    # bytes 0-1 the Table 1 register LSB first, 2-3 TH/TL, 4 configuration, FFh, count remain, 10h, CRC
    assert scratchpad_for(25.0625) == bytes.fromhex("91 01 4b 46 7f ff 0f 10 25")
    assert scratchpad_for(-10.125) == bytes.fromhex("5e ff 4b 46 7f ff 02 10 b6")
    assert scratchpad_for(21.3, 9) == bytes.fromhex("58 01 4b 46 1f ff 08 10 69")  # 21.5 °C in 0.5 °C steps
    assert POWER_ON_SCRATCHPAD == bytes.fromhex("50 05 4b 46 7f ff 0c 10 1c")  # +85 °C, 12-bit


def test_ds18b20_twin_writes_the_kernel_w1_slave_format() -> None:
    pad = bytes.fromhex("91 01 4b 46 7f ff 0f 10 25")
    assert w1_slave_text(pad, pad) == (
        "91 01 4b 46 7f ff 0f 10 25 : crc=25 YES\n91 01 4b 46 7f ff 0f 10 25 t=25062\n"
    )


def test_ds18b20_twin_takes_no_fact_from_the_drivers() -> None:
    imported = {
        node.module for node in ast.walk(ast.parse(TWIN.read_text())) if isinstance(node, ast.ImportFrom)
    }
    assert not {module for module in imported if module and module.startswith("drivers")}
