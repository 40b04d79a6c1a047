"""Simulated ROHM BH1750FVI ambient light sensor answering its one-byte opcodes.

Written from the datasheet, independently of drivers/bh1750.py, so that a wrong value in the
driver makes the two disagree: ROHM "BH1750FVI Technical Note", 2009.04 Rev.B ("Instruction Set
Architecture", "Measurement mode explanation", "Electrical Characteristics", "Adjust measurement
result for influence of optical window").
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from types import MappingProxyType

from drivers.sim.i2c import SimI2CChip


class Instruction(IntEnum):
    """Opcodes of the datasheet's "Instruction Set Architecture" table."""

    POWER_DOWN = 0b0000_0000
    POWER_ON = 0b0000_0001
    RESET = 0b0000_0111
    CONTINUOUSLY_H_RESOLUTION = 0b0001_0000
    CONTINUOUSLY_H_RESOLUTION_2 = 0b0001_0001
    CONTINUOUSLY_L_RESOLUTION = 0b0001_0011
    ONE_TIME_H_RESOLUTION = 0b0010_0000
    ONE_TIME_H_RESOLUTION_2 = 0b0010_0001
    ONE_TIME_L_RESOLUTION = 0b0010_0011


#: What each measurement instruction starts: (resolution, one_time).
MEASUREMENTS: Mapping[int, tuple[str, bool]] = MappingProxyType({
    Instruction.CONTINUOUSLY_H_RESOLUTION: ("high", False),
    Instruction.CONTINUOUSLY_H_RESOLUTION_2: ("high2", False),
    Instruction.CONTINUOUSLY_L_RESOLUTION: ("low", False),
    Instruction.ONE_TIME_H_RESOLUTION: ("high", True),
    Instruction.ONE_TIME_H_RESOLUTION_2: ("high2", True),
    Instruction.ONE_TIME_L_RESOLUTION: ("low", True),
})
#: "Change Measurement time (High bit)" is 01000_MT[7,6,5]; "(Low bit)" is 011_MT[4,3,2,1,0].
MT_HIGH_PATTERN, MT_HIGH_MASK = 0b0100_0000, 0b1111_1000
MT_LOW_PATTERN, MT_LOW_MASK = 0b0110_0000, 0b1110_0000
MTREG_POWER_ON = 0b0100_0101  # 69, the MTreg default
SENSOR_OUT_PER_LX = 1.2  # "Measurement Accuracy" S/A typical: sensor out / actual lx
L_RESOLUTION_STEP_LX = 4.0  # rLR typical, at the default MTreg
H2_COUNTS_PER_H_COUNT = 2  # H-resolution mode2: bit 0 of the result is 0.5 lx
DATA_REGISTER_MAX = 0xFFFF  # 16-bit result
#: Typical measurement times (tHR, tLR) at the default MTreg, proportional to MTreg.
TYPICAL_TIME_S = MappingProxyType({"high": 0.120, "high2": 0.120, "low": 0.016})


@dataclass(frozen=True, slots=True)
class _Measurement:
    resolution: str
    one_time: bool
    mtreg: int
    started_s: float


class SimBH1750(SimI2CChip):
    """BH1750FVI: power states, MTreg, measurement times and count quantisation."""

    def __init__(self, clock: Callable[[], float], illuminance_lx: float = 0.0) -> None:
        self._clock = clock
        self.illuminance_lx = illuminance_lx
        self.power_on_reset()

    def power_on_reset(self) -> None:
        """Power-up state: powered down, MTreg 69, data register 0."""
        self._powered = False
        self._mtreg = MTREG_POWER_ON
        self._data = 0
        self._measurement: _Measurement | None = None

    @property
    def powered(self) -> bool:
        """True when the chip is powered on (waiting or measuring)."""
        self._update()
        return self._powered

    @property
    def mtreg(self) -> int:
        """Current measurement time register."""
        return self._mtreg

    @property
    def measuring(self) -> str | None:
        """The resolution being measured ("high", "high2", "low") or None when idle."""
        self._update()
        return None if self._measurement is None else self._measurement.resolution

    def write(self, data: bytes) -> None:
        """Execute each received byte as an instruction."""
        self._update()
        for opcode in data:
            self._execute(opcode)

    def read(self, length: int) -> bytes:
        """Return the data register, high byte first (then 0xFF padding)."""
        self._update()
        frame = bytes([self._data >> 8, self._data & 0xFF])
        return (frame + b"\xff" * length)[:length]

    def _execute(self, opcode: int) -> None:
        if opcode == Instruction.POWER_DOWN:
            self._powered = False
            self._measurement = None
        elif opcode == Instruction.POWER_ON:
            self._powered = True
        elif opcode == Instruction.RESET:
            if self._powered:
                self._data = 0
        elif opcode in MEASUREMENTS:
            resolution, one_time = MEASUREMENTS[opcode]
            self._powered = True
            self._measurement = _Measurement(resolution, one_time, self._mtreg, self._clock())
        elif opcode & MT_HIGH_MASK == MT_HIGH_PATTERN:
            self._mtreg = (opcode & 0b111) << 5 | (self._mtreg & 0b1_1111)
        elif opcode & MT_LOW_MASK == MT_LOW_PATTERN:
            self._mtreg = (self._mtreg & 0b1110_0000) | (opcode & 0b1_1111)

    def _update(self) -> None:
        m = self._measurement
        if m is None:
            return
        duration_s = _duration_s(m.resolution, m.mtreg)
        now = self._clock()
        if now < m.started_s + duration_s:
            return
        self._data = self._count(m.resolution, m.mtreg)
        if m.one_time:
            self._measurement = None
            self._powered = False
            return
        cycles = math.floor((now - m.started_s) / duration_s)
        self._measurement = _Measurement(
            m.resolution, False, self._mtreg, m.started_s + cycles * duration_s
        )

    def _count(self, resolution: str, mtreg: int) -> int:
        lux = max(0.0, self.illuminance_lx)
        scale = mtreg / MTREG_POWER_ON
        if resolution == "low":
            step_lx = L_RESOLUTION_STEP_LX / scale
            count = int(math.floor(lux / step_lx) * step_lx * SENSOR_OUT_PER_LX * scale + 0.5)
        else:
            factor = H2_COUNTS_PER_H_COUNT if resolution == "high2" else 1
            count = math.floor(lux * SENSOR_OUT_PER_LX * scale * factor)
        return min(count, DATA_REGISTER_MAX)


def _duration_s(resolution: str, mtreg: int) -> float:
    return TYPICAL_TIME_S[resolution] * max(mtreg, 1) / MTREG_POWER_ON
