"""Sensirion SHT3x-DIS facts written out from the datasheet, never taken from the code under test.

Source: Sensirion "Datasheet SHT3x-DIS", Version 5, May 2018. Tables and sections are quoted in comments.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from smbus2 import i2c_msg

from drivers import sht31
from drivers.sht31 import (
    SHT31,
    Command,
    crc8,
    raw_to_relative_humidity_pct,
    raw_to_temperature_c,
)
from drivers.sim.i2c import SimI2CBus, SimI2CChip
from drivers.sim.sht31 import SimSHT31

TWIN = Path(__file__).resolve().parents[1] / "drivers" / "sim" / "sht31.py"


def test_sht31_single_shot_commands_without_clock_stretching() -> None:
    # Table 9: clock stretching disabled, MSB 0x24, LSB 00 high / 0B medium / 16 low repeatability
    assert Command.MEASURE_HIGH == 0x2400
    assert Command.MEASURE_MEDIUM == 0x240B
    assert Command.MEASURE_LOW == 0x2416
    assert {key: int(value) for key, value in sht31.MEASURE_COMMANDS.items()} == {
        "high": 0x2400, "medium": 0x240B, "low": 0x2416,
    }


def test_sht31_reset_heater_and_status_commands() -> None:
    # 4.9 soft reset 0x30A2; Table 16 heater enable 0x306D, disabled 0x3066;
    # Table 17 read out of status register 0xF32D; Table 19 clear status register 0x3041
    assert Command.SOFT_RESET == 0x30A2
    assert Command.HEATER_ON == 0x306D
    assert Command.HEATER_OFF == 0x3066
    assert Command.READ_STATUS == 0xF32D
    assert Command.CLEAR_STATUS == 0x3041


def test_sht31_i2c_addresses() -> None:
    # Table 8: I2C address 0x44 with ADDR pin to logic low, 0x45 with ADDR to logic high
    assert sht31.ADDRESSES == (0x44, 0x45)


def test_sht31_maximum_measurement_durations_and_soft_reset_time() -> None:
    # Table 4: tMEAS,l max 4 ms, tMEAS,m max 6 ms, tMEAS,h max 15 ms; tSR (soft reset) max 1.5 ms
    assert dict(sht31.MAX_MEASUREMENT_S) == {"high": 0.015, "medium": 0.006, "low": 0.004}
    assert sht31.SOFT_RESET_MAX_S == 0.0015


def test_sht31_crc_properties_and_example() -> None:
    # Table 20: CRC-8, polynomial 0x31 (x^8 + x^5 + x^4 + 1), initialization 0xFF, no reflection,
    # final XOR 0x00; example CRC(0xBEEF) = 0x92
    assert (sht31.CRC_POLYNOMIAL, sht31.CRC_INIT) == (0x31, 0xFF)
    assert crc8(b"\xbe\xef") == 0x92
    assert crc8(b"\x80\x10") == 0xE1  # the status word after reset, as the twin sends it


def test_sht31_temperature_conversion_formula() -> None:
    # 4.13: T[°C] = -45 + 175 * S_T / (2^16 - 1)
    assert raw_to_temperature_c(0x0000) == pytest.approx(-45.0)
    assert raw_to_temperature_c(0xFFFF) == pytest.approx(130.0)
    assert raw_to_temperature_c(0x6666) == pytest.approx(-45 + 175 * 26214 / 65535)  # 25.0 °C
    assert raw_to_temperature_c(0x6666) == pytest.approx(25.0, abs=0.001)
    assert raw_to_temperature_c(0xBEEF) == pytest.approx(-45 + 175 * 48879 / 65535)


def test_sht31_humidity_conversion_formula() -> None:
    # 4.13: RH[%] = 100 * S_RH / (2^16 - 1)
    assert raw_to_relative_humidity_pct(0x0000) == pytest.approx(0.0)
    assert raw_to_relative_humidity_pct(0xFFFF) == pytest.approx(100.0)
    assert raw_to_relative_humidity_pct(0x8000) == pytest.approx(100 * 32768 / 65535)


def test_sht31_status_register_bits() -> None:
    # Table 18: bit 15 alert pending, bit 13 heater status, bit 4 system reset detected,
    # bit 1 command status (last command not processed)
    assert sht31.STATUS_ALERT_PENDING == 0x8000
    assert sht31.STATUS_HEATER_ON == 0x2000
    assert sht31.STATUS_RESET_DETECTED == 0x0010
    assert sht31.STATUS_COMMAND_FAILED == 0x0002


def test_sht31_specified_temperature_range() -> None:
    # Table 2: temperature specified range -40 °C to 125 °C
    assert sht31.TEMPERATURE_RANGE_C == (-40.0, 125.0)


class _Recorder(SimI2CChip):
    """Records every write transaction; answers each read with one datasheet example frame."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def read(self, length: int) -> bytes:
        return b"\x66\x66\x93\x80\x00\xa2"[:length]  # S_T 0x6666, S_RH 0x8000, each with its CRC


@pytest.mark.parametrize(
    ("repeatability", "command"),
    [("high", b"\x24\x00"), ("medium", b"\x24\x0b"), ("low", b"\x24\x16")],
    ids=["high", "medium", "low"],
)
def test_sht31_driver_sends_the_datasheet_commands(repeatability: str, command: bytes) -> None:
    chip = _Recorder()
    bus = SimI2CBus(1)
    bus.attach(0x44, chip)
    waits: list[float] = []
    driver = SHT31(bus, bus_name="i2c-1", sleep=waits.append, repeatability=repeatability)
    temperature, humidity = driver.read()
    assert chip.writes == [b"\x30\xa2", b"\x30\x41", command]  # soft reset, clear status, measure
    assert waits[0] == 0.0015  # tSR max after the soft reset
    assert waits[1] == {"high": 0.015, "medium": 0.006, "low": 0.004}[repeatability]
    assert temperature.value == pytest.approx(-45 + 175 * 0x6666 / 65535)
    assert humidity.value == pytest.approx(100 * 0x8000 / 65535)


def test_sht31_twin_answers_single_shot_high_with_crc_protected_words() -> None:
    now = [0.0]
    chip = SimSHT31(lambda: now[0], temperature_c=25.0, relative_humidity_pct=50.0)
    bus = SimI2CBus(1)
    bus.attach(0x44, chip)
    bus.i2c_rdwr(i2c_msg.write(0x44, [0x24, 0x00]))  # single shot, high repeatability, no stretching
    now[0] = 0.015  # tMEAS,h max
    message = i2c_msg.read(0x44, 6)
    bus.i2c_rdwr(message)
    # 25 °C: S_T = (25 + 45) / 175 * 65535 = 0x6666, CRC 0x93; 50 %RH: S_RH = 0x8000, CRC 0xA2
    assert bytes(message) == b"\x66\x66\x93\x80\x00\xa2"


def test_sht31_twin_takes_no_fact_from_the_driver() -> None:
    imported = {
        node.module for node in ast.walk(ast.parse(TWIN.read_text())) if isinstance(node, ast.ImportFrom)
    }
    assert {module for module in imported if module and module.startswith("drivers")} == {"drivers.sim.i2c"}
