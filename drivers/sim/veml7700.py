"""Simulated Vishay VEML7700 ambient light sensor with its 16-bit little-endian registers."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import MappingProxyType

from drivers.sim.i2c import SimI2CChip
from drivers.veml7700 import (
    DEVICE_ID,
    FULL_SCALE,
    GAIN_BITS,
    GAIN_MASK,
    GAIN_SHIFT,
    INT_EN_BIT,
    IT_BITS,
    IT_MASK,
    IT_SHIFT,
    SHUTDOWN_BIT,
    WAKE_UP_S,
    Register,
    correct_high_lux,
    resolution_lx_per_count,
)

WRITABLE = (Register.ALS_CONF, Register.ALS_WH, Register.ALS_WL, Register.POWER_SAVING)
SLAVE_ADDRESS_OPTION = 0xC4  # high byte of the ID register
ID_VALUE = SLAVE_ADDRESS_OPTION << 8 | DEVICE_ID
CONF_DEFAULT = SHUTDOWN_BIT
GAIN_BY_BITS = MappingProxyType({bits: gain for gain, bits in GAIN_BITS.items()})
IT_MS_BY_BITS = MappingProxyType({bits: it_ms for it_ms, bits in IT_BITS.items()})
PSM_WAIT_S_BY_BITS = MappingProxyType({0b00: 0.5, 0b01: 1.0, 0b10: 2.0, 0b11: 4.0})
WHITE_PER_ALS = 1.25  # simulation assumption: daylight-like white/ALS ratio
INT_TH_LOW, INT_TH_HIGH = 1 << 15, 1 << 14


class SimVEML7700(SimI2CChip):
    """VEML7700: gain/IT counts, integration timing, power saving, interrupt flags, ID."""

    def __init__(self, clock: Callable[[], float], illuminance_lx: float = 0.0) -> None:
        self._clock = clock
        self.illuminance_lx = illuminance_lx
        self.power_on_reset()

    def power_on_reset(self) -> None:
        """Power-up state: shut down, all results 0."""
        self._regs = {Register.ALS_CONF: CONF_DEFAULT, Register.ALS_WH: 0, Register.ALS_WL: 0,
                      Register.POWER_SAVING: 0}
        self._als = 0
        self._white = 0
        self._int_flags = 0
        self._pointer = 0
        self._cycle_start_s: float | None = None

    @property
    def shut_down(self) -> bool:
        """True while ALS_SD is set."""
        return bool(self._regs[Register.ALS_CONF] & SHUTDOWN_BIT)

    @property
    def gain(self) -> float:
        """Gain selected in ALS_CONF."""
        return GAIN_BY_BITS[(self._regs[Register.ALS_CONF] >> GAIN_SHIFT) & GAIN_MASK]

    @property
    def integration_time_ms(self) -> int:
        """Integration time selected in ALS_CONF (100 ms for reserved codes)."""
        return IT_MS_BY_BITS.get((self._regs[Register.ALS_CONF] >> IT_SHIFT) & IT_MASK, 100)

    def write(self, data: bytes) -> None:
        """Command code, optionally followed by a data word (LSB first)."""
        self._update()
        if not data:
            return
        self._pointer = data[0]
        if len(data) >= 3 and self._pointer in WRITABLE:
            self._write_register(Register(self._pointer), data[1] | data[2] << 8)

    def read(self, length: int) -> bytes:
        """Word at the current command code, LSB first; ALS_INT clears on read."""
        self._update()
        value = self._register_value(self._pointer)
        if self._pointer == Register.ALS_INT:
            self._int_flags = 0
        frame = bytes([value & 0xFF, value >> 8])
        return (frame * (length // 2 + 1))[:length]

    def _register_value(self, pointer: int) -> int:
        if pointer in WRITABLE:
            return self._regs[Register(pointer)]
        return {Register.ALS: self._als, Register.WHITE: self._white,
                Register.ALS_INT: self._int_flags, Register.ID: ID_VALUE}.get(pointer, 0)

    def _write_register(self, register: Register, value: int) -> None:
        self._regs[register] = value
        if register != Register.ALS_CONF:
            return
        was_running = self._cycle_start_s is not None
        if value & SHUTDOWN_BIT:
            self._cycle_start_s = None
        else:
            self._cycle_start_s = self._clock() + (0.0 if was_running else WAKE_UP_S)

    def _update(self) -> None:
        if self._cycle_start_s is None:
            return
        it_s = self.integration_time_ms / 1000
        psm = self._regs[Register.POWER_SAVING]
        period_s = it_s + (PSM_WAIT_S_BY_BITS[(psm >> 1) & 0b11] if psm & 1 else 0.0)
        elapsed_s = self._clock() - self._cycle_start_s - it_s
        if elapsed_s < 0:
            return
        completed = math.floor(elapsed_s / period_s) + 1
        self._cycle_start_s += completed * period_s
        self._als = self._counts()
        self._white = min(FULL_SCALE, int(self._als * WHITE_PER_ALS))
        if self._regs[Register.ALS_CONF] & INT_EN_BIT:
            if self._als > self._regs[Register.ALS_WH]:
                self._int_flags |= INT_TH_HIGH
            if self._als < self._regs[Register.ALS_WL]:
                self._int_flags |= INT_TH_LOW

    def _counts(self) -> int:
        resolution = resolution_lx_per_count(self.gain, self.integration_time_ms)
        linear_lx = _chip_response_lx(max(0.0, self.illuminance_lx))
        return min(FULL_SCALE, math.floor(linear_lx / resolution))


def _chip_response_lx(true_lx: float) -> float:
    """Linear-scale lux the chip reports for `true_lx` (inverse of the app note's correction)."""
    low, high = 0.0, 200_000.0
    if correct_high_lux(high) < true_lx:
        return high
    for _ in range(80):
        middle = (low + high) / 2
        if correct_high_lux(middle) < true_lx:
            low = middle
        else:
            high = middle
    return (low + high) / 2
