"""Simulated Sensirion SHT3x-DIS humidity and temperature sensor (single-shot, no stretching).

Written from the datasheet, independently of drivers/sht31.py, so that a wrong value in the driver
makes the two disagree: Sensirion "Datasheet SHT3x-DIS", Version 5, May 2018 (Table 4 timing,
Table 9 single-shot commands, 4.9 soft reset, Tables 16-19 heater and status, Table 20 CRC,
4.13 conversion formulas).

Only the single-shot commands without clock stretching are served. The clock-stretching ones
(0x2C06, 0x2C0D, 0x2C10) and periodic mode are answered like an unknown command (status bit 1 set,
nothing to read): the Raspberry Pi's I2C controller does not handle clock stretching reliably,
so a driver for these boxes must not use them, and the twin makes such a driver fail.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from types import MappingProxyType

from drivers.sim.i2c import SimI2CChip, nack


class Command(IntEnum):
    """16-bit commands the simulated chip serves (MSB first on the wire)."""

    SINGLE_SHOT_HIGH_NO_STRETCH = 0x2400  # Table 9
    SINGLE_SHOT_MEDIUM_NO_STRETCH = 0x240B
    SINGLE_SHOT_LOW_NO_STRETCH = 0x2416
    SOFT_RESET = 0x30A2  # 4.9 "Reset": soft reset
    HEATER_ENABLE = 0x306D  # Table 16
    HEATER_DISABLE = 0x3066
    READ_STATUS = 0xF32D  # Table 17
    CLEAR_STATUS = 0x3041  # Table 19


#: Typical measurement durations (Table 4: tMEAS,h 12.5 ms, tMEAS,m 4.5 ms, tMEAS,l 2.5 ms).
TYPICAL_MEASUREMENT_S = MappingProxyType({
    Command.SINGLE_SHOT_HIGH_NO_STRETCH: 0.0125,
    Command.SINGLE_SHOT_MEDIUM_NO_STRETCH: 0.0045,
    Command.SINGLE_SHOT_LOW_NO_STRETCH: 0.0025,
})
SOFT_RESET_BUSY_S = 0.001  # Table 4 tSR: between the 0.5 ms typical and 1.5 ms maximum
# Table 18, status register bits
ALERT_PENDING = 1 << 15
HEATER_ON = 1 << 13
SYSTEM_RESET_DETECTED = 1 << 4
COMMAND_FAILED = 1 << 1
STATUS_AFTER_RESET = ALERT_PENDING | SYSTEM_RESET_DETECTED  # 0x8010, the table's default values
# Table 20: CRC-8, polynomial 0x31 (x^8 + x^5 + x^4 + 1), init 0xFF, no reflection, no final XOR
CRC_POLYNOMIAL = 0x31
CRC_INIT = 0xFF
RAW_SPAN = 2**16 - 1  # 4.13: S / (2^16 - 1)


def crc8(data: bytes) -> int:
    """The checksum the chip appends to each 16-bit word (CRC(0xBEEF) = 0x92)."""
    crc = CRC_INIT
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc << 1 ^ CRC_POLYNOMIAL) & 0xFF if crc & 0x80 else crc << 1 & 0xFF
    return crc


class SimSHT31(SimI2CChip):
    """SHT3x: NACKs while busy or with no data, CRC-8 protected words, status and heater."""

    def __init__(
        self,
        clock: Callable[[], float],
        temperature_c: float = 20.0,
        relative_humidity_pct: float = 50.0,
    ) -> None:
        self._clock = clock
        self.temperature_c = temperature_c
        self.relative_humidity_pct = relative_humidity_pct
        self.corrupt_next_crc = False
        self.power_on_reset()

    def power_on_reset(self) -> None:
        """Power-up state: idle, heater off, reset flags set, no data."""
        self._status = STATUS_AFTER_RESET
        self._busy_until_s = float("-inf")
        self._measurement_pending = False
        self._output: bytes | None = None

    @property
    def heater_on(self) -> bool:
        """True while the internal heater is on."""
        return bool(self._status & HEATER_ON)

    def write(self, data: bytes) -> None:
        """Accept a 16-bit command (MSB first); NACK while a measurement or reset runs."""
        if self._clock() < self._busy_until_s:
            raise nack()
        if len(data) < 2:
            return
        command = data[0] << 8 | data[1]
        self._output = None
        self._measurement_pending = False
        if command != Command.READ_STATUS:
            self._status &= ~COMMAND_FAILED
        if command in TYPICAL_MEASUREMENT_S:
            self._busy_until_s = self._clock() + TYPICAL_MEASUREMENT_S[Command(command)]
            self._measurement_pending = True
        elif command == Command.SOFT_RESET:
            self.power_on_reset()
            self._busy_until_s = self._clock() + SOFT_RESET_BUSY_S
        elif command == Command.READ_STATUS:
            self._output = _word(self._status)
        elif command == Command.CLEAR_STATUS:
            self._status &= ~(ALERT_PENDING | SYSTEM_RESET_DETECTED)
        elif command == Command.HEATER_ENABLE:
            self._status |= HEATER_ON
        elif command == Command.HEATER_DISABLE:
            self._status &= ~HEATER_ON
        else:
            self._status |= COMMAND_FAILED

    def read(self, length: int) -> bytes:
        """Send the pending result; NACK the read header before it is ready or when none."""
        if self._clock() < self._busy_until_s:
            raise nack()
        if self._measurement_pending:
            self._measurement_pending = False
            self._output = self._measurement_frame()
        if self._output is None:
            raise nack()
        frame, self._output = self._output, None
        return (frame + b"\xff" * length)[:length]

    def _measurement_frame(self) -> bytes:
        raw_t = round((self.temperature_c + 45.0) * RAW_SPAN / 175.0)  # T = -45 + 175 S_T / (2^16 - 1)
        raw_rh = round(self.relative_humidity_pct * RAW_SPAN / 100.0)  # RH = 100 S_RH / (2^16 - 1)
        t_word = _word(max(0, min(RAW_SPAN, raw_t)))
        if self.corrupt_next_crc:
            self.corrupt_next_crc = False
            t_word = t_word[:2] + bytes([t_word[2] ^ 0xFF])
        return t_word + _word(max(0, min(RAW_SPAN, raw_rh)))


def _word(value: int) -> bytes:
    data = bytes([value >> 8, value & 0xFF])
    return data + bytes([crc8(data)])
