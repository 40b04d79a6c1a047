"""ROHM BH1750FVI facts written out from the datasheet, never taken from the code under test.

Source: ROHM "BH1750FVI Technical Note", 2009.04 Rev.B. Section names are quoted in each comment.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from smbus2 import i2c_msg

from drivers import bh1750
from drivers.bh1750 import (
    BH1750,
    MEASUREMENT_OPCODES,
    Opcode,
    counts_to_lux,
    measurement_time_s,
    mtreg_opcodes,
    resolution_lx,
)
from drivers.sim.bh1750 import SimBH1750
from drivers.sim.i2c import SimI2CBus, SimI2CChip

TWIN = Path(__file__).resolve().parents[1] / "drivers" / "sim" / "bh1750.py"


def test_bh1750_instruction_set_opcodes() -> None:
    # "Instruction Set Architecture"
    assert Opcode.POWER_DOWN == 0b0000_0000
    assert Opcode.POWER_ON == 0b0000_0001
    assert Opcode.RESET == 0b0000_0111
    assert Opcode.CONTINUOUS_H == 0b0001_0000
    assert Opcode.CONTINUOUS_H2 == 0b0001_0001
    assert Opcode.CONTINUOUS_L == 0b0001_0011
    assert Opcode.ONE_TIME_H == 0b0010_0000
    assert Opcode.ONE_TIME_H2 == 0b0010_0001
    assert Opcode.ONE_TIME_L == 0b0010_0011
    assert len(set(Opcode)) == 9  # no two instructions share an opcode


def test_bh1750_measurement_opcodes_by_mode_and_resolution() -> None:
    # "Instruction Set Architecture": Continuously / One Time, H-, H2- and L-Resolution Mode
    assert {key: int(value) for key, value in MEASUREMENT_OPCODES.items()} == {
        ("continuous", "high"): 0x10,
        ("continuous", "high2"): 0x11,
        ("continuous", "low"): 0x13,
        ("one_time", "high"): 0x20,
        ("one_time", "high2"): 0x21,
        ("one_time", "low"): 0x23,
    }


def test_bh1750_slave_addresses() -> None:
    # "I2C Bus Access / Slave Address": ADDR 'L' -> 0100011, ADDR 'H' -> 1011100
    assert bh1750.ADDRESSES == (0b0100011, 0b1011100)


def test_bh1750_change_measurement_time_instructions() -> None:
    # "Instruction Set Architecture": Change Measurement time (High bit) 01000_MT[7,6,5],
    # (Low bit) 011_MT[4,3,2,1,0]; MTreg default 0100_0101 (69)
    assert mtreg_opcodes(69) == (0b01000_010, 0b011_00101)
    assert mtreg_opcodes(31) == (0b01000_000, 0b011_11111)  # minimum 0001_1111
    assert mtreg_opcodes(254) == (0b01000_111, 0b011_11110)  # maximum 1111_1110
    assert mtreg_opcodes(138) == (0b01000_100, 0b011_01010)  # 1000_1010, twice the default
    assert (bh1750.MTREG_HIGH_PREFIX, bh1750.MTREG_HIGH_MASK) == (0b0100_0000, 0b1111_1000)
    assert (bh1750.MTREG_LOW_PREFIX, bh1750.MTREG_LOW_MASK) == (0b0110_0000, 0b1110_0000)


def test_bh1750_measurement_time_register_range() -> None:
    # "Adjust measurement result for influence of optical window": MTreg 31..254, default 69
    assert (bh1750.MTREG_MIN, bh1750.MTREG_DEFAULT, bh1750.MTREG_MAX) == (31, 69, 254)
    for outside in (30, 255):
        with pytest.raises(ValueError):
            mtreg_opcodes(outside)


def test_bh1750_datasheet_read_example_0x8390_is_28067_lx() -> None:
    # "I2C Bus Access / Read Format": High Byte 1000_0011, Low Byte 1001_0000
    # -> (2^15 + 2^9 + 2^8 + 2^7 + 2^4) / 1.2 = 28067 lx, H-resolution mode, default MTreg
    assert counts_to_lux(0b1000_0011_1001_0000, 69, "high") == pytest.approx(28067, abs=0.5)


def test_bh1750_measurement_accuracy_is_1_2_counts_per_lx() -> None:
    # "Electrical Characteristics": Measurement Accuracy (sensor out / actual lx) typ. 1.2
    assert bh1750.COUNTS_PER_LX == 1.2
    assert counts_to_lux(1200, 69, "high") == pytest.approx(1000.0)


def test_bh1750_resolutions_at_the_default_mtreg() -> None:
    # "Electrical Characteristics": H-Resolution Mode Resolution 1 lx (one count / 1.2),
    # L-Resolution Mode Resolution 4 lx; "Measurement mode explanation": H-resolution mode2 0.5 lx
    assert resolution_lx(69, "high") == pytest.approx(1 / 1.2)
    assert resolution_lx(69, "high2") == pytest.approx(0.5 / 1.2)
    assert resolution_lx(69, "low") == pytest.approx(4.0)


def test_bh1750_optical_window_range_is_0_11_to_100000_lx() -> None:
    # "Features": "It is possible to detect min. 0.11 lx, max. 100000 lx by using this function"
    assert counts_to_lux(1, 254, "high2") == pytest.approx(0.5 / 1.2 * 69 / 254)  # 0.113 lx
    assert counts_to_lux(1, 254, "high2") == pytest.approx(0.11, abs=0.005)
    assert counts_to_lux(0xFFFF, 31, "high") == pytest.approx(65535 / 1.2 * 69 / 31)  # 121557 lx
    assert counts_to_lux(0xFFFF, 31, "high") > 100_000


def test_bh1750_maximum_measurement_times() -> None:
    # "Electrical Characteristics": tHR typ. 120 max. 180 ms, tLR typ. 16 max. 24 ms (MTreg 69);
    # the time is proportional to MTreg ("Adjust measurement result ...")
    assert measurement_time_s(69, "high") == pytest.approx(0.180)
    assert measurement_time_s(69, "high2") == pytest.approx(0.180)
    assert measurement_time_s(69, "low") == pytest.approx(0.024)
    assert measurement_time_s(254, "high") == pytest.approx(0.180 * 254 / 69)
    assert measurement_time_s(31, "low") == pytest.approx(0.024 * 31 / 69)


def _read_result(bus: SimI2CBus, address: int) -> list[int]:
    message = i2c_msg.read(address, 2)  # "Read Format": High Byte, then Low Byte, no opcode
    bus.i2c_rdwr(message)
    return list(bytes(message))


class _Recorder(SimI2CChip):
    """Records every byte written; answers reads with a fixed 16-bit result."""

    def __init__(self, result: int) -> None:
        self.written: list[int] = []
        self.result = result

    def write(self, data: bytes) -> None:
        self.written.extend(data)

    def read(self, length: int) -> bytes:
        return bytes([self.result >> 8, self.result & 0xFF])[:length]


@pytest.mark.parametrize(
    ("mode", "resolution", "mtreg", "expected"),
    [
        ("one_time", "high", 69, [0x01, 0x07, 0x42, 0x65, 0x20]),
        ("one_time", "high2", 254, [0x01, 0x07, 0x47, 0x7E, 0x21]),
        ("one_time", "low", 31, [0x01, 0x07, 0x40, 0x7F, 0x23]),
        ("continuous", "high", 138, [0x01, 0x07, 0x44, 0x6A, 0x10]),
        ("continuous", "high2", 69, [0x01, 0x07, 0x42, 0x65, 0x11]),
        ("continuous", "low", 69, [0x01, 0x07, 0x42, 0x65, 0x13]),
    ],
)
def test_bh1750_driver_sends_the_datasheet_instructions(
    mode: str, resolution: str, mtreg: int, expected: list[int]
) -> None:
    # Power On, Reset, Change Measurement time (High bit, Low bit), then the measurement mode
    chip = _Recorder(0x8390)
    bus = SimI2CBus(1)
    bus.attach(0x23, chip)
    driver = BH1750(
        bus, bus_name="i2c-1", sleep=lambda s: None, mode=mode, auto_range=False, mtreg=mtreg, resolution=resolution
    )
    (reading,) = driver.read()
    assert chip.written == expected
    factor = 2 if resolution == "high2" else 1
    assert reading.value == pytest.approx(0x8390 / 1.2 * 69 / mtreg / factor)


def test_bh1750_twin_answers_the_datasheet_read_example() -> None:
    # The twin, driven by literal opcodes, gives back the datasheet's 1000_0011 1001_0000 for 28067 lx
    now = [0.0]
    chip = SimBH1750(lambda: now[0], illuminance_lx=28067.0)
    bus = SimI2CBus(1)
    bus.attach(0x5C, chip)
    bus.write_byte(0x5C, 0b0000_0001)  # Power On
    bus.write_byte(0x5C, 0b0010_0000)  # One Time H-Resolution Mode
    now[0] = 0.119  # typical 120 ms: not done yet
    assert _read_result(bus, 0x5C) == [0, 0]
    now[0] = 0.121
    assert _read_result(bus, 0x5C) == [0b1000_0011, 0b1001_0000]
    assert not chip.powered  # one time mode: "automatically set to Power Down mode after measurement"


def test_bh1750_twin_takes_no_fact_from_the_driver() -> None:
    imported = {
        node.module for node in ast.walk(ast.parse(TWIN.read_text())) if isinstance(node, ast.ImportFrom)
    }
    assert {module for module in imported if module and module.startswith("drivers")} == {"drivers.sim.i2c"}
