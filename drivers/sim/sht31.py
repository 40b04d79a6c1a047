"""Simulated Sensirion SHT3x-DIS humidity and temperature sensor (single-shot, no stretching)."""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from drivers.sht31 import (
    RAW_FULL_SCALE,
    STATUS_ALERT_PENDING,
    STATUS_COMMAND_FAILED,
    STATUS_HEATER_ON,
    STATUS_RESET_DETECTED,
    Command,
    crc8,
)
from drivers.sim.i2c import SimI2CChip, nack

TYPICAL_MEASUREMENT_S = MappingProxyType({
    Command.MEASURE_HIGH: 0.0125,
    Command.MEASURE_MEDIUM: 0.0045,
    Command.MEASURE_LOW: 0.0025,
})
SOFT_RESET_BUSY_S = 0.001  # between the datasheet's 0.5 ms typical and 1.5 ms maximum
STATUS_AFTER_RESET = STATUS_ALERT_PENDING | STATUS_RESET_DETECTED


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
        return bool(self._status & STATUS_HEATER_ON)

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
            self._status &= ~STATUS_COMMAND_FAILED
        if command in TYPICAL_MEASUREMENT_S:
            self._busy_until_s = self._clock() + TYPICAL_MEASUREMENT_S[Command(command)]
            self._measurement_pending = True
        elif command == Command.SOFT_RESET:
            self.power_on_reset()
            self._busy_until_s = self._clock() + SOFT_RESET_BUSY_S
        elif command == Command.READ_STATUS:
            self._output = _word(self._status)
        elif command == Command.CLEAR_STATUS:
            self._status &= ~(STATUS_ALERT_PENDING | STATUS_RESET_DETECTED)
        elif command == Command.HEATER_ON:
            self._status |= STATUS_HEATER_ON
        elif command == Command.HEATER_OFF:
            self._status &= ~STATUS_HEATER_ON
        else:
            self._status |= STATUS_COMMAND_FAILED

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
        raw_t = round((self.temperature_c + 45.0) * RAW_FULL_SCALE / 175.0)
        raw_rh = round(self.relative_humidity_pct * RAW_FULL_SCALE / 100.0)
        t_word = _word(max(0, min(RAW_FULL_SCALE, raw_t)))
        if self.corrupt_next_crc:
            self.corrupt_next_crc = False
            t_word = t_word[:2] + bytes([t_word[2] ^ 0xFF])
        return t_word + _word(max(0, min(RAW_FULL_SCALE, raw_rh)))


def _word(value: int) -> bytes:
    data = bytes([value >> 8, value & 0xFF])
    return data + bytes([crc8(data)])
