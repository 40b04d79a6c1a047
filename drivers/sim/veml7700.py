"""Simulated Vishay VEML7700 ambient light sensor with its 16-bit little-endian registers.

Written from the datasheet, independently of drivers/veml7700.py, so that a wrong value in the
driver makes the two disagree: Vishay VEML7700 datasheet Rev 1.7, 29-Nov-2023 (command register
format, the ALS_CONF_0, power saving, ALS_INT and ID register tables, "Resolution and maximum
detection range"), and the app note "Designing the VEML7700 Into an Application" (doc. 84323) for
the high-lux non-linearity.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import IntEnum
from types import MappingProxyType

from drivers.sim.i2c import SimI2CChip


class Register(IntEnum):
    """Command codes of the datasheet's "Command Register Format"."""

    ALS_CONF_0 = 0x00
    ALS_WH = 0x01
    ALS_WL = 0x02
    POWER_SAVING = 0x03
    ALS = 0x04
    WHITE = 0x05
    ALS_INT = 0x06
    ID = 0x07


WRITABLE = (Register.ALS_CONF_0, Register.ALS_WH, Register.ALS_WL, Register.POWER_SAVING)
DEVICE_ID_CODE = 0x81  # ID register bits 7:0
SLAVE_ADDRESS_OPTION = 0xC4  # ID register bits 15:8, for slave address 0x10 (0x20 in 8-bit form)
ID_VALUE = SLAVE_ADDRESS_OPTION << 8 | DEVICE_ID_CODE
ALS_SD = 1 << 0  # ALS_CONF_0 bit 0: 1 = ALS shut down (its power-on value)
ALS_INT_EN = 1 << 1  # ALS_CONF_0 bit 1: threshold interrupt enable
CONF_DEFAULT = ALS_SD
ALS_GAIN_SHIFT = 11  # ALS_CONF_0 bits 12:11
ALS_IT_SHIFT = 6  # ALS_CONF_0 bits 9:6
GAIN_BY_BITS = MappingProxyType({0b00: 1.0, 0b01: 2.0, 0b10: 0.125, 0b11: 0.25})
IT_MS_BY_BITS = MappingProxyType({0b1100: 25, 0b1000: 50, 0b0000: 100, 0b0001: 200, 0b0010: 400, 0b0011: 800})
PSM_EN = 1 << 0  # POWER_SAVING bit 0
PSM_WAIT_S_BY_BITS = MappingProxyType({0b00: 0.5, 0b01: 1.0, 0b10: 2.0, 0b11: 4.0})  # POWER_SAVING bits 2:1
INT_TH_LOW, INT_TH_HIGH = 1 << 15, 1 << 14  # ALS_INT flags, cleared by reading
WAKE_UP_S = 0.0025  # 2.5 ms from ALS_SD = 0 to the start of the first integration
ALS_MAX_COUNT = 0xFFFF
# Lux per count at gain 2 and 800 ms (datasheet Rev 1.7, which corrects the earlier 0.0036);
# every other setting is coarser by (2 / gain) * (800 ms / IT).
LX_PER_COUNT_AT_GAIN2_IT800 = 0.0042
# App note: corrected lux = a x^4 + b x^3 + c x^2 + d x of the linear lux x, for the chip's
# non-linearity at high illuminance; the simulated chip applies the inverse to the true lux.
NONLINEARITY_A, NONLINEARITY_B, NONLINEARITY_C, NONLINEARITY_D = 6.0135e-13, -9.3924e-9, 8.1488e-5, 1.0023
WHITE_PER_ALS = 1.25  # simulation assumption: daylight-like white/ALS ratio


class SimVEML7700(SimI2CChip):
    """VEML7700: gain/IT counts, integration timing, power saving, interrupt flags, ID."""

    def __init__(self, clock: Callable[[], float], illuminance_lx: float = 0.0) -> None:
        self._clock = clock
        self.illuminance_lx = illuminance_lx
        self.power_on_reset()

    def power_on_reset(self) -> None:
        """Power-up state: shut down, all results 0."""
        self._regs = {Register.ALS_CONF_0: CONF_DEFAULT, Register.ALS_WH: 0, Register.ALS_WL: 0,
                      Register.POWER_SAVING: 0}
        self._als = 0
        self._white = 0
        self._int_flags = 0
        self._pointer = 0
        self._cycle_start_s: float | None = None

    @property
    def shut_down(self) -> bool:
        """True while ALS_SD is set."""
        return bool(self._regs[Register.ALS_CONF_0] & ALS_SD)

    @property
    def gain(self) -> float:
        """Gain selected in ALS_CONF."""
        return GAIN_BY_BITS[(self._regs[Register.ALS_CONF_0] >> ALS_GAIN_SHIFT) & 0b11]

    @property
    def integration_time_ms(self) -> int:
        """Integration time selected in ALS_CONF (100 ms for reserved codes)."""
        return IT_MS_BY_BITS.get((self._regs[Register.ALS_CONF_0] >> ALS_IT_SHIFT) & 0b1111, 100)

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
        if register != Register.ALS_CONF_0:
            return
        was_running = self._cycle_start_s is not None
        if value & ALS_SD:
            self._cycle_start_s = None
        else:
            self._cycle_start_s = self._clock() + (0.0 if was_running else WAKE_UP_S)

    def _update(self) -> None:
        if self._cycle_start_s is None:
            return
        it_s = self.integration_time_ms / 1000
        psm = self._regs[Register.POWER_SAVING]
        period_s = it_s + (PSM_WAIT_S_BY_BITS[(psm >> 1) & 0b11] if psm & PSM_EN else 0.0)
        elapsed_s = self._clock() - self._cycle_start_s - it_s
        if elapsed_s < 0:
            return
        completed = math.floor(elapsed_s / period_s) + 1
        self._cycle_start_s += completed * period_s
        self._als = self._counts()
        self._white = min(ALS_MAX_COUNT, int(self._als * WHITE_PER_ALS))
        if self._regs[Register.ALS_CONF_0] & ALS_INT_EN:
            if self._als > self._regs[Register.ALS_WH]:
                self._int_flags |= INT_TH_HIGH
            if self._als < self._regs[Register.ALS_WL]:
                self._int_flags |= INT_TH_LOW

    def _counts(self) -> int:
        lx_per_count = LX_PER_COUNT_AT_GAIN2_IT800 * (2.0 / self.gain) * (800 / self.integration_time_ms)
        linear_lx = _chip_response_lx(max(0.0, self.illuminance_lx))
        return min(ALS_MAX_COUNT, math.floor(linear_lx / lx_per_count))


def _true_lx(linear_lx: float) -> float:
    """The app note's polynomial: true illuminance behind a linear-scale reading."""
    x = linear_lx
    return ((NONLINEARITY_A * x + NONLINEARITY_B) * x + NONLINEARITY_C) * x * x + NONLINEARITY_D * x


def _chip_response_lx(true_lx: float) -> float:
    """Linear-scale lux the chip reports for `true_lx` (inverse of the app note's polynomial)."""
    low, high = 0.0, 200_000.0
    if _true_lx(high) < true_lx:
        return high
    for _ in range(80):
        middle = (low + high) / 2
        if _true_lx(middle) < true_lx:
            low = middle
        else:
            high = middle
    return (low + high) / 2
