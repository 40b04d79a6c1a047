"""ROHM BH1750FVI ambient light sensor, byte for byte from its datasheet.

Source: ROHM "BH1750FVI Technical Note", 2009.04 Rev.B (Instruction Set Architecture table,
Electrical Characteristics, Measurement sequence, I2C Bus Access; unchanged in later revisions).
Written independently of drivers/ and drivers/sim/: this is the oracle the driver is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Instruction set (opcodes), BH1750FVI Technical Note Rev.B p.5
POWER_DOWN = 0b0000_0000  # 0x00: no active state
POWER_ON = 0b0000_0001  # 0x01: waiting for measurement command
RESET = 0b0000_0111  # 0x07: reset data register; not accepted in power down mode
CONTINUOUS_H = 0b0001_0000  # 0x10: 1 lx resolution, typ. 120 ms
CONTINUOUS_H2 = 0b0001_0001  # 0x11: 0.5 lx resolution, typ. 120 ms
CONTINUOUS_L = 0b0001_0011  # 0x13: 4 lx resolution, typ. 16 ms
ONE_TIME_H = 0b0010_0000  # 0x20: as 0x10, then power down automatically
ONE_TIME_H2 = 0b0010_0001  # 0x21
ONE_TIME_L = 0b0010_0011  # 0x23
CHANGE_MT_HIGH = 0b0100_0000  # 01000_MT[7:5]
CHANGE_MT_HIGH_MASK = 0b1111_1000
CHANGE_MT_LOW = 0b0110_0000  # 011_MT[4:0]
CHANGE_MT_LOW_MASK = 0b1110_0000

MEASUREMENTS = {  # opcode: (resolution, continuous)
    CONTINUOUS_H: ("H", True), CONTINUOUS_H2: ("H2", True), CONTINUOUS_L: ("L", True),
    ONE_TIME_H: ("H", False), ONE_TIME_H2: ("H2", False), ONE_TIME_L: ("L", False),
}
MTREG_DEFAULT = 0b0100_0101  # 69, the register's reset value
COUNTS_PER_LX_TYP = 1.2  # "Measurement Accuracy" S/A typ. 1.2 times; result = count / 1.2 lx at MTreg 69
L_RESOLUTION_LX = 4.0  # rLR typ. 4 lx
# Measurement times at MTreg 69, maximum column (tHR 120 typ / 180 max ms, tLR 16 typ / 24 max ms):
# the model is the slowest chip the datasheet allows, so a driver reading early sees the old value.
MEASUREMENT_TIME_MAX_S = {"H": 0.180, "H2": 0.180, "L": 0.024}
FULL_SCALE = 0xFFFF
ADDRESSES = (0b0100011, 0b1011100)  # ADDR = 'L' -> 0x23, ADDR = 'H' -> 0x5C


@dataclass
class Light:
    """What the sensor's window receives."""

    illuminance_lx: float = 0.0


def count_for(illuminance_lx: float, resolution: str, mtreg: int) -> int:
    """The 16-bit result for an illuminance: count = lx * 1.2 * MTreg/69 (x2 in H-resolution mode2)."""
    lx = max(0.0, illuminance_lx)
    if resolution == "L":
        lx = math.floor(lx / L_RESOLUTION_LX) * L_RESOLUTION_LX
    count = lx * COUNTS_PER_LX_TYP * mtreg / MTREG_DEFAULT * (2 if resolution == "H2" else 1)
    return min(FULL_SCALE, math.floor(count))


class BH1750:
    """The chip state machine: power down / power on / measuring; one data register, MTreg."""

    part = "BH1750"

    def __init__(self, light: Light) -> None:
        self.light = light
        self.powered = False  # power down after power supply
        self.mtreg = MTREG_DEFAULT
        self.data = 0  # data register; reset value 0
        self.measuring: tuple[str, bool, int, float] | None = None  # resolution, continuous, mtreg, start
        self.opcode_since_start = False
        self.ignored: list[int] = []

    def address(self, read: bool, now_s: float) -> bool:
        """The BH1750 acknowledges its address in every state (power down included)."""
        self._update(now_s)
        self.opcode_since_start = False
        return True

    def write(self, data: bytes, now_s: float) -> None:
        """Each opcode needs its own STOP ("not able to accept plural command without stop condition")."""
        self._update(now_s)
        for byte in data:
            if self.opcode_since_start:
                self.ignored.append(byte)
                continue
            self.opcode_since_start = True
            self._instruction(byte, now_s)

    def read(self, length: int, now_s: float) -> bytes:
        """High byte [15:8] then low byte [7:0] of the data register; the bus idles high afterwards."""
        self._update(now_s)
        answer = bytes([self.data >> 8, self.data & 0xFF])
        return (answer + b"\xff" * length)[:length]

    def stop(self, now_s: float) -> None:
        """STOP: the next opcode is accepted again."""
        self.opcode_since_start = False

    def _instruction(self, opcode: int, now_s: float) -> None:
        if opcode == POWER_DOWN:
            self.powered = False
            self.measuring = None
        elif opcode == POWER_ON:
            self.powered = True
        elif opcode == RESET:
            if self.powered:  # "Reset command is not acceptable in Power Down mode"
                self.data = 0
            else:
                self.ignored.append(opcode)
        elif opcode in MEASUREMENTS:
            resolution, continuous = MEASUREMENTS[opcode]
            self.powered = True
            self.measuring = (resolution, continuous, self.mtreg, now_s)
        elif opcode & CHANGE_MT_HIGH_MASK == CHANGE_MT_HIGH:
            self.mtreg = (opcode & 0b111) << 5 | self.mtreg & 0b1_1111
        elif opcode & CHANGE_MT_LOW_MASK == CHANGE_MT_LOW:
            self.mtreg = self.mtreg & 0b1110_0000 | opcode & 0b1_1111
        else:
            self.ignored.append(opcode)

    def _update(self, now_s: float) -> None:
        """Complete the measurements whose time is up (the data register changes only then)."""
        if self.measuring is None:
            return
        resolution, continuous, mtreg, start_s = self.measuring
        duration_s = MEASUREMENT_TIME_MAX_S[resolution] * mtreg / MTREG_DEFAULT
        if now_s < start_s + duration_s:
            return
        self.data = count_for(self.light.illuminance_lx, resolution, mtreg)
        if continuous:  # the next cycle starts at once, with the MTreg in force now
            cycles = math.floor((now_s - start_s) / duration_s)
            self.measuring = (resolution, True, self.mtreg, start_s + cycles * duration_s)
        else:  # one time mode: power down after the measurement
            self.measuring = None
            self.powered = False
