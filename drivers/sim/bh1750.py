"""Simulated ROHM BH1750FVI ambient light sensor answering its one-byte opcodes."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from drivers.bh1750 import (
    COUNTS_PER_LX,
    FULL_SCALE,
    LOW_RES_STEP_LX,
    MEASUREMENT_OPCODES,
    MTREG_DEFAULT,
    MTREG_HIGH_MASK,
    MTREG_HIGH_PREFIX,
    MTREG_LOW_MASK,
    MTREG_LOW_PREFIX,
    Opcode,
)
from drivers.sim.i2c import SimI2CChip

#: What each measurement instruction starts: (resolution, one_time).
MEASUREMENTS: Mapping[int, tuple[str, bool]] = MappingProxyType({
    opcode: (resolution, mode == "one_time") for (mode, resolution), opcode in MEASUREMENT_OPCODES.items()
})
TYPICAL_TIME_S = MappingProxyType({"high": 0.120, "high2": 0.120, "low": 0.016})  # at MTreg 69


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
        self._mtreg = MTREG_DEFAULT
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
        if opcode == Opcode.POWER_DOWN:
            self._powered = False
            self._measurement = None
        elif opcode == Opcode.POWER_ON:
            self._powered = True
        elif opcode == Opcode.RESET:
            if self._powered:
                self._data = 0
        elif opcode in MEASUREMENTS:
            resolution, one_time = MEASUREMENTS[opcode]
            self._powered = True
            self._measurement = _Measurement(resolution, one_time, self._mtreg, self._clock())
        elif opcode & MTREG_HIGH_MASK == MTREG_HIGH_PREFIX:
            self._mtreg = (opcode & 0b111) << 5 | (self._mtreg & 0b1_1111)
        elif opcode & MTREG_LOW_MASK == MTREG_LOW_PREFIX:
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
        scale = mtreg / MTREG_DEFAULT
        if resolution == "low":
            step_lx = LOW_RES_STEP_LX / scale
            count = int(math.floor(lux / step_lx) * step_lx * COUNTS_PER_LX * scale + 0.5)
        else:
            factor = 2 if resolution == "high2" else 1
            count = math.floor(lux * COUNTS_PER_LX * scale * factor)
        return min(count, FULL_SCALE)


def _duration_s(resolution: str, mtreg: int) -> float:
    return TYPICAL_TIME_S[resolution] * max(mtreg, 1) / MTREG_DEFAULT
