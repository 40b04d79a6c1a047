"""Vishay VEML7700 facts written out from the datasheet and app note, never from the code under test.

Sources: Vishay VEML7700 datasheet Rev 1.7, 29-Nov-2023 (doc. 84286); app note "Designing the VEML7700
Into an Application" (doc. 84323). Where revisions disagree (0.0036 against 0.0042 lx/count at gain 2,
800 ms) this project follows Rev 1.7, as drivers/veml7700.py explains; these tests pin that choice.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from drivers import veml7700
from drivers.sim.i2c import SimI2CBus, SimI2CChip
from drivers.sim.veml7700 import SimVEML7700
from drivers.veml7700 import (
    VEML7700,
    Register,
    als_conf_word,
    app_note_setting,
    correct_high_lux,
    counts_to_lux,
    resolution_lx_per_count,
)

TWIN = Path(__file__).resolve().parents[1] / "drivers" / "sim" / "veml7700.py"

# Datasheet Rev 1.7, "Resolution and maximum detection range": lx/count by integration time and gain.
RESOLUTION_LX_PER_COUNT: dict[int, dict[float, float]] = {
    800: {2.0: 0.0042, 1.0: 0.0084, 0.25: 0.0336, 0.125: 0.0672},
    400: {2.0: 0.0084, 1.0: 0.0168, 0.25: 0.0672, 0.125: 0.1344},
    200: {2.0: 0.0168, 1.0: 0.0336, 0.25: 0.1344, 0.125: 0.2688},
    100: {2.0: 0.0336, 1.0: 0.0672, 0.25: 0.2688, 0.125: 0.5376},
    50: {2.0: 0.0672, 1.0: 0.1344, 0.25: 0.5376, 0.125: 1.0752},
    25: {2.0: 0.1344, 1.0: 0.2688, 0.25: 1.0752, 0.125: 2.1504},
}


def test_veml7700_command_codes() -> None:
    # "Command Register Format": 00h ALS_CONF_0, 01h ALS_WH, 02h ALS_WL, 03h Power saving,
    # 04h ALS, 05h WHITE, 06h ALS_INT, 07h ID
    assert {register.name: int(register) for register in Register} == {
        "ALS_CONF": 0x00, "ALS_WH": 0x01, "ALS_WL": 0x02, "POWER_SAVING": 0x03,
        "ALS": 0x04, "WHITE": 0x05, "ALS_INT": 0x06, "ID": 0x07,
    }


def test_veml7700_slave_address_and_device_id() -> None:
    # "Slave address 0x10"; Table 8: ID bits 7:0 device ID code 0x81 (bits 15:8 0xC4, address option)
    assert veml7700.ADDRESSES == (0x10,)
    assert veml7700.DEVICE_ID == 0xC481 & 0xFF


def test_veml7700_gain_bit_field() -> None:
    # Table 1, ALS_CONF_0 bits 12:11 ALS_GAIN: 00 = x1, 01 = x2, 10 = x(1/8), 11 = x(1/4)
    assert dict(veml7700.GAIN_BITS) == {1.0: 0b00, 2.0: 0b01, 0.125: 0b10, 0.25: 0b11}
    assert als_conf_word(1.0, 100) == 0b00 << 11
    assert als_conf_word(2.0, 100) == 0b01 << 11
    assert als_conf_word(0.125, 100) == 0b10 << 11
    assert als_conf_word(0.25, 100) == 0b11 << 11


def test_veml7700_integration_time_bit_field() -> None:
    # Table 1, ALS_CONF_0 bits 9:6 ALS_IT: 1100 = 25 ms, 1000 = 50, 0000 = 100, 0001 = 200,
    # 0010 = 400, 0011 = 800 ms
    assert dict(veml7700.IT_BITS) == {25: 0b1100, 50: 0b1000, 100: 0b0000, 200: 0b0001, 400: 0b0010, 800: 0b0011}
    assert als_conf_word(1.0, 25) == 0b1100 << 6
    assert als_conf_word(1.0, 50) == 0b1000 << 6
    assert als_conf_word(1.0, 200) == 0b0001 << 6
    assert als_conf_word(1.0, 400) == 0b0010 << 6
    assert als_conf_word(1.0, 800) == 0b0011 << 6


def test_veml7700_persistence_interrupt_and_shutdown_bits() -> None:
    # Table 1: bits 5:4 ALS_PERS, bit 1 ALS_INT_EN, bit 0 ALS_SD (1 = shut down)
    assert als_conf_word(1.0, 100, shutdown=True) == 0x0001
    assert als_conf_word(1.0, 100, interrupt=True) == 0x0002
    assert als_conf_word(1.0, 100, persistence_bits=0b11) == 0b11 << 4
    assert als_conf_word(0.125, 25, shutdown=True) == 0b10 << 11 | 0b1100 << 6 | 1  # 0x1301
    assert als_conf_word(0.125, 25, shutdown=True) == 0x1301


@pytest.mark.parametrize(
    ("it_ms", "gain", "expected"),
    [(it, gain, lx) for it, row in RESOLUTION_LX_PER_COUNT.items() for gain, lx in row.items()],
)
def test_veml7700_resolution_table(it_ms: int, gain: float, expected: float) -> None:
    assert resolution_lx_per_count(gain, it_ms) == pytest.approx(expected, rel=1e-9)


def test_veml7700_chosen_resolution_is_rev_1_7_0_0042() -> None:
    # The choice documented in drivers/veml7700.py: 0.0042 lx/count, not the older 0.0036
    assert veml7700.RESOLUTION_LX_AT_GAIN2_IT800 == 0.0042
    assert counts_to_lux(1000, 2.0, 800) == pytest.approx(4.2)  # 0.0036 would give 3.6 lx
    assert counts_to_lux(1000, 1.0, 100) == pytest.approx(67.2)


def test_veml7700_maximum_detection_range() -> None:
    # Rev 1.7: about 275 lx at gain 2 / 800 ms, about 140 klx at gain 1/8 / 25 ms (65535 counts)
    assert 0xFFFF * resolution_lx_per_count(2.0, 800) == pytest.approx(275.2, abs=0.1)  # 0.0042 x 65535
    assert 0xFFFF * resolution_lx_per_count(0.125, 25) == pytest.approx(140_926, abs=1)  # 2.1504 x 65535


def test_veml7700_correction_polynomial_coefficients() -> None:
    # App note: lux_c = a x^4 + b x^3 + c x^2 + d x; a = 6.0135e-13, b = -9.3924e-9,
    # c = 8.1488e-5, d = 1.0023
    assert veml7700.CORRECTION_COEFFS == (6.0135e-13, -9.3924e-9, 8.1488e-5, 1.0023, 0.0)
    assert correct_high_lux(0.0) == 0.0


def test_veml7700_correction_worked_example_1500_lx_is_1658_lx() -> None:
    # App note worked example: a (1500 lx)^4 + b (1500 lx)^3 + c (1500 lx)^2 + d (1500 lx) = 1658 lx
    assert correct_high_lux(1500.0) == pytest.approx(1658, abs=0.5)
    # The same light read through the driver: 2790 counts x 0.5376 lx/count (gain 1/8, 100 ms)
    assert counts_to_lux(2790, 0.125, 100) == pytest.approx(1658, abs=0.5)


def test_veml7700_correction_applies_at_gains_one_eighth_and_one_quarter_only() -> None:
    # App note flow chart: the correction formula is applied for gain 1/8 and 1/4
    assert counts_to_lux(2790, 0.125, 100) > 2790 * 0.5376 + 150
    assert counts_to_lux(5580, 0.25, 100) == pytest.approx(1658, abs=0.5)
    assert counts_to_lux(2000, 1.0, 100) == pytest.approx(2000 * 0.0672)
    assert counts_to_lux(2000, 2.0, 800) == pytest.approx(2000 * 0.0042)


def test_veml7700_wake_up_time() -> None:
    # Datasheet, "Application information": wait 2.5 ms after ALS_SD = 0 before the first measurement
    assert veml7700.WAKE_UP_S == 0.0025


def test_veml7700_app_note_ranging_ladder() -> None:
    # App note flow chart: start at gain 1/8, IT 100 ms; while counts <= 100 raise the gain
    # (1/4, 1, 2), then the IT (200, 400, 800 ms); while counts > 10000 shorten the IT (50, 25 ms)
    assert veml7700.LADDER == (
        (0.125, 25), (0.125, 50), (0.125, 100), (0.25, 100), (1.0, 100),
        (2.0, 100), (2.0, 200), (2.0, 400), (2.0, 800),
    )
    assert veml7700.LADDER[veml7700.LADDER_START] == (0.125, 100)
    assert (veml7700.LOW_COUNTS, veml7700.HIGH_COUNTS) == (100, 10_000)
    assert app_note_setting(99 * 0.5376) == (0.25, 100)  # 99 counts at the start: raise the gain
    assert app_note_setting(101 * 0.5376) == (0.125, 100)
    assert app_note_setting(9_999 * 0.5376) == (0.125, 100)
    assert app_note_setting(10_001 * 0.5376) == (0.125, 50)  # over 10000 counts: shorten the IT


class _Recorder(SimI2CChip):
    """Records every write transaction; answers the ID and ALS registers."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self._pointer = 0

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self._pointer = data[0] if data else self._pointer

    def read(self, length: int) -> bytes:
        word = {0x07: 0xC481, 0x04: 5000}.get(self._pointer, 0)
        return bytes([word & 0xFF, word >> 8])[:length]


def test_veml7700_driver_writes_the_datasheet_words_lsb_first() -> None:
    chip = _Recorder()
    bus = SimI2CBus(1)
    bus.attach(0x10, chip)
    driver = VEML7700(bus, bus_name="i2c-1", sleep=lambda s: None, auto_range=False)
    (reading,) = driver.read()
    assert chip.writes == [
        b"\x07",  # ID
        b"\x03\x00\x00",  # Power saving off
        b"\x01\xff\xff",  # ALS_WH
        b"\x02\x00\x00",  # ALS_WL
        b"\x00\x01\x10",  # ALS_CONF_0 = 0x1001: gain 1/8 (10), IT 100 ms (0000), shut down
        b"\x00\x00\x10",  # ALS_CONF_0 = 0x1000: power on
        b"\x04",  # ALS
    ]
    assert reading.value == pytest.approx(correct_high_lux(5000 * 0.5376))


def test_veml7700_twin_counts_at_gain_2_and_800_ms() -> None:
    now = [0.0]
    chip = SimVEML7700(lambda: now[0], illuminance_lx=1.0)
    bus = SimI2CBus(1)
    bus.attach(0x10, chip)
    assert bus.read_word_data(0x10, 0x07) == 0xC481  # ID: address option 0xC4, device ID 0x81
    bus.write_word_data(0x10, 0x00, 0b01 << 11 | 0b0011 << 6)  # gain x2, IT 800 ms, ALS_SD 0
    now[0] = 0.0025 + 0.799
    assert bus.read_word_data(0x10, 0x04) == 0  # 2.5 ms wake-up + 800 ms not yet over
    now[0] = 0.0025 + 0.801
    # 1 lx reads as 1 / 1.0023 (the app note's linear term) = 0.9977 lx, / 0.0042 lx/count = 237 counts
    assert bus.read_word_data(0x10, 0x04) == 237


def test_veml7700_twin_takes_no_fact_from_the_driver() -> None:
    imported = {
        node.module for node in ast.walk(ast.parse(TWIN.read_text())) if isinstance(node, ast.ImportFrom)
    }
    assert {module for module in imported if module and module.startswith("drivers")} == {"drivers.sim.i2c"}
