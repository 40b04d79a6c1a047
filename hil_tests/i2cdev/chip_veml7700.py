"""Vishay VEML7700 ambient light sensor, byte for byte from its datasheet and application note.

Sources: Vishay "VEML7700 High Accuracy Ambient Light Sensor With I2C Interface", document 84286,
Rev. 1.7 of 29-Nov-2023 (command codes table, ALS_CONF bits, resolution 0.0042 lx/ct at gain 2 and
800 ms, which corrects the 0.0036 of earlier revisions), and application note "Designing the
VEML7700 Into an Application", document 84323 (wake-up 2.5 ms, high-lux correction polynomial).
Written independently of drivers/ and drivers/sim/: this is the oracle the driver is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from i2cdev.chip_bh1750 import Light

# Command codes: every register is 16 bits, sent and read LSB first
ALS_CONF = 0x00
ALS_WH = 0x01
ALS_WL = 0x02
POWER_SAVING = 0x03
ALS = 0x04
WHITE = 0x05
ALS_INT = 0x06
ID = 0x07
READ_ONLY = (ALS, WHITE, ALS_INT, ID)
DEVICE_ID = 0xC481  # LSB 0x81 device id, MSB 0xC4 slave address option code for 0x10
ADDRESS = 0x10

# ALS_CONF bits
GAIN_SHIFT, GAIN_MASK = 11, 0b11  # ALS_CONF[12:11]
IT_SHIFT, IT_MASK = 6, 0b1111  # ALS_CONF[9:6]
INT_EN = 1 << 1  # ALS_CONF[1]
SD = 1 << 0  # ALS_CONF[0]: 1 = shut down
GAINS = {0b00: 1.0, 0b01: 2.0, 0b10: 0.125, 0b11: 0.25}
INTEGRATION_MS = {0b1100: 25, 0b1000: 50, 0b0000: 100, 0b0001: 200, 0b0010: 400, 0b0011: 800}
ALS_CONF_POWER_UP = SD  # the chip powers up shut down
ALS_IF_L = 1 << 15  # ALS_INT[15]: crossed the low threshold
ALS_IF_H = 1 << 14  # ALS_INT[14]: crossed the high threshold
PSM_WAIT_S = {0b00: 0.5, 0b01: 1.0, 0b10: 2.0, 0b11: 4.0}  # POWER_SAVING[2:1] when PSM_EN ([0]) is set

RESOLUTION_LX_AT_GAIN2_IT800 = 0.0042  # datasheet Rev. 1.7
WAKE_UP_S = 0.0025  # app note: wait 2.5 ms after ALS_SD goes from 1 to 0 before the first cycle
FULL_SCALE = 0xFFFF
# App note: lux_corrected = 6.0135e-13 x^4 - 9.3924e-9 x^3 + 8.1488e-5 x^2 + 1.0023 x, for gains 1/8 and 1/4
CORRECTION = (6.0135e-13, -9.3924e-9, 8.1488e-5, 1.0023, 0.0)
NON_LINEAR_GAINS = (0.125, 0.25)


def resolution_lx(gain: float, integration_ms: int) -> float:
    """Lux per count: 0.0042 at gain 2 and 800 ms, scaled by 2/gain and 800/IT."""
    return RESOLUTION_LX_AT_GAIN2_IT800 * (2.0 / gain) * (800 / integration_ms)


def corrected_lx(linear_lx: float) -> float:
    """The app note's polynomial from the chip's linear reading to the true illuminance."""
    result = 0.0
    for coefficient in CORRECTION:
        result = result * linear_lx + coefficient
    return result


def linear_lx_for(illuminance_lx: float) -> float:
    """What the chip's linear reading is at gains 1/8 and 1/4: the inverse of the correction (bisection)."""
    low, high = 0.0, max(1.0, illuminance_lx)
    for _ in range(200):
        middle = (low + high) / 2
        if corrected_lx(middle) < illuminance_lx:
            low = middle
        else:
            high = middle
    return low


def als_counts(illuminance_lx: float, gain: float, integration_ms: int) -> int:
    """The ALS register after one integration: linear at gains 1 and 2, non-linear at 1/8 and 1/4."""
    lx = max(0.0, illuminance_lx)
    seen_lx = linear_lx_for(lx) if gain in NON_LINEAR_GAINS else lx
    return min(FULL_SCALE, math.floor(seen_lx / resolution_lx(gain, integration_ms)))


@dataclass
class Cycle:
    """An integration running since `start_s` with the settings it started with."""

    start_s: float
    gain: float
    integration_ms: int
    period_s: float


class VEML7700:
    """Register file plus an integrator that completes a cycle every IT (plus the PSM wait)."""

    part = "VEML7700"

    def __init__(self, light: Light) -> None:
        self.light = light
        self.registers = {code: 0 for code in range(8)}
        self.registers[ALS_CONF] = ALS_CONF_POWER_UP
        self.registers[ID] = DEVICE_ID
        self.pointer = 0
        self.cycle: Cycle | None = None
        self.ignored: list[bytes] = []

    def address(self, read: bool, now_s: float) -> bool:
        """The VEML7700 acknowledges its address, shut down or not."""
        self._update(now_s)
        return True

    def write(self, data: bytes, now_s: float) -> None:
        """Command code, then data LSB, data MSB; a command code alone sets the pointer for a read."""
        self._update(now_s)
        if not data:
            return
        self.pointer = data[0]
        if len(data) == 1:
            return
        if len(data) != 3 or self.pointer > ID:
            self.ignored.append(bytes(data))
            return
        if self.pointer in READ_ONLY:
            self.ignored.append(bytes(data))
            return
        value = data[1] | data[2] << 8
        old_conf = self.registers[ALS_CONF]
        self.registers[self.pointer] = value
        if self.pointer in (ALS_CONF, POWER_SAVING):
            self._configure(old_conf, now_s)

    def read(self, length: int, now_s: float) -> bytes:
        """The register at the pointer, LSB then MSB; reading ALS_INT clears its flags."""
        self._update(now_s)
        value = self.registers.get(self.pointer, 0)
        if self.pointer == ALS_INT:
            self.registers[ALS_INT] = 0
        answer = bytes([value & 0xFF, value >> 8])
        return (answer + b"\xff" * length)[:length]

    def stop(self, now_s: float) -> None:
        """Nothing happens on STOP."""

    def _configure(self, old_conf: int, now_s: float) -> None:
        conf = self.registers[ALS_CONF]
        if conf & SD:
            self.cycle = None  # integration stops; the result registers keep their last values
            return
        gain = GAINS[conf >> GAIN_SHIFT & GAIN_MASK]
        integration_ms = INTEGRATION_MS.get(conf >> IT_SHIFT & IT_MASK)
        if integration_ms is None:  # a reserved IT code: the datasheet defines no behaviour, stop
            self.cycle = None
            return
        period_s = integration_ms / 1000
        psm = self.registers[POWER_SAVING]
        if psm & 1:
            period_s += PSM_WAIT_S[psm >> 1 & 0b11]
        start_s = now_s + WAKE_UP_S if old_conf & SD or self.cycle is None else now_s
        self.cycle = Cycle(start_s, gain, integration_ms, period_s)

    def _update(self, now_s: float) -> None:
        """Latch the result of every cycle completed by now (ALS and WHITE change only then)."""
        cycle = self.cycle
        if cycle is None or now_s < cycle.start_s + cycle.integration_ms / 1000:
            return
        counts = als_counts(self.light.illuminance_lx, cycle.gain, cycle.integration_ms)
        self.registers[ALS] = counts
        self.registers[WHITE] = counts  # the model's white channel: no infrared beyond the visible
        conf = self.registers[ALS_CONF]
        if conf & INT_EN:
            if counts > self.registers[ALS_WH]:
                self.registers[ALS_INT] |= ALS_IF_H
            if counts < self.registers[ALS_WL]:
                self.registers[ALS_INT] |= ALS_IF_L
        completed = math.floor((now_s - cycle.start_s - cycle.integration_ms / 1000) / cycle.period_s) + 1
        cycle.start_s += completed * cycle.period_s
