"""The chip models and the i2c-dev ABI against the datasheets' own worked examples (no umockdev needed)."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from i2cdev import abi
from i2cdev.chip_bh1750 import BH1750, Light, count_for
from i2cdev.chip_ds18b20 import Thermometer, w1_slave_text
from i2cdev.chip_sht3x import Climate, SHT3x, crc8
from i2cdev.chip_veml7700 import VEML7700, corrected_lx, linear_lx_for
from i2cdev.i2c_bus import I2CAdapter, TransactionLog


def test_sht3x_model_crc_matches_the_datasheet_example() -> None:
    assert crc8(b"\xbe\xef") == 0x92  # SHT3x-DIS Table 20


def test_bh1750_model_count_matches_the_datasheet_read_example() -> None:
    # "High Byte = 1000_0011, Low Byte = 1001_0000: (2^15 + 2^9 + 2^8 + 2^7 + 2^4) / 1.2 = 28067 lx"
    assert count_for(28067.0, "H", 69) == 0b1000_0011_1001_0000


def test_veml7700_model_correction_matches_the_app_note_example() -> None:
    assert corrected_lx(1500.0) == pytest.approx(1658.0, abs=0.5)  # app note 84323 worked example
    assert corrected_lx(linear_lx_for(1658.0)) == pytest.approx(1658.0, abs=1e-6)


def test_ds18b20_model_writes_w1_therm_text_with_a_valid_crc() -> None:
    text = w1_slave_text(Thermometer("28-0316a2794aff", 23.125).convert_and_read())
    assert text == "72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n"
    negative = w1_slave_text(Thermometer("28-0316a2794aff", -10.125).convert_and_read())
    assert negative.endswith(" t=-10125\n") and ": crc=" in negative and " YES\n" in negative


def test_smbus_word_read_becomes_a_write_then_a_2_byte_read() -> None:
    request = abi.SmbusRequest(abi.I2C_SMBUS_READ, 0x07, abi.I2C_SMBUS_WORD_DATA, bytes(abi.SMBUS_DATA_SIZE))
    messages = abi.smbus_messages(0x10, request)
    assert [(m.read, m.length, m.data) for m in messages] == [(False, 1, b"\x07"), (True, 2, b"")]
    messages[1].data = b"\x81\xc4"
    assert abi.smbus_reply(request, messages)[:2] == b"\x81\xc4"  # union word, little-endian


def test_i2c_adapter_answers_eremoteio_for_an_absent_address(tmp_path: Path) -> None:
    log = TransactionLog(tmp_path / "log.jsonl")
    adapter = I2CAdapter(1, log)
    adapter.attach(0x23, BH1750(Light(100.0)))
    assert adapter.transfer([abi.Message(0x23, False, 0)], ioctl="I2C_SMBUS") == 0
    assert adapter.transfer([abi.Message(0x5C, False, 0)], ioctl="I2C_SMBUS") == errno.EREMOTEIO
    log.close()


def test_bh1750_model_reads_the_old_value_until_the_measurement_time_is_up() -> None:
    chip = BH1750(Light(100.0))
    for opcode in (0x01, 0x07, 0x20):
        chip.address(False, 0.0)
        chip.write(bytes([opcode]), 0.0)
        chip.stop(0.0)
    assert chip.read(2, 0.179) == b"\x00\x00"  # reset value: tHR max is 180 ms
    assert chip.read(2, 0.181) == (120).to_bytes(2, "big")


def test_sht3x_model_nacks_a_read_while_measuring_and_once_the_data_is_read() -> None:
    chip = SHT3x(Climate(25.0, 50.0), now_s=-1.0)
    assert chip.address(False, 0.0)
    chip.write(b"\x24\x00", 0.0)
    chip.stop(0.0)
    assert not chip.address(True, 0.014)  # measuring (15 ms max at high repeatability)
    assert chip.address(True, 0.016) and len(chip.read(6, 0.016)) == 6
    assert not chip.address(True, 0.017)  # data already read


def test_veml7700_model_keeps_the_old_als_value_until_the_integration_ends() -> None:
    chip = VEML7700(Light(50.0))
    chip.write(b"\x00\x00\x10", 0.0)  # gain 1/8, 100 ms, power on (ALS_SD = 0)
    chip.write(b"\x04", 0.1)
    assert chip.read(2, 0.1) == b"\x00\x00"  # 2.5 ms wake-up + 100 ms not over yet
    chip.write(b"\x04", 0.103)
    assert chip.read(2, 0.103) != b"\x00\x00"
