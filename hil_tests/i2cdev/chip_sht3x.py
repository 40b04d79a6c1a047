"""Sensirion SHT3x-DIS (SHT31) humidity and temperature sensor, byte for byte from its datasheet.

Source: Sensirion "Datasheet SHT3x-DIS", Version 5, May 2018 (Table 4 timing, Table 9 single shot
commands, 4.4 readout, Tables 13-19 reset / heater / status commands, Table 20 CRC, 4.13 conversion).
Written independently of drivers/ and drivers/sim/: this is the oracle the driver is tested against.
"""

from __future__ import annotations

from dataclasses import dataclass

# Single shot measurement commands (Table 9): (repeatability, clock stretching)
SINGLE_SHOT = {
    0x2C06: ("high", True), 0x2C0D: ("medium", True), 0x2C10: ("low", True),
    0x2400: ("high", False), 0x240B: ("medium", False), 0x2416: ("low", False),
}
SOFT_RESET = 0x30A2  # Table 13
HEATER_ENABLE = 0x306D  # Table 15
HEATER_DISABLE = 0x3066
READ_STATUS = 0xF32D  # Table 16
CLEAR_STATUS = 0x3041  # Table 18
BREAK = 0x3093  # stops periodic mode; nothing to stop in single shot mode

# Status register bits (Table 17)
STATUS_ALERT_PENDING = 1 << 15  # 1 after a reset
STATUS_HEATER_ON = 1 << 13
STATUS_RH_ALERT = 1 << 11
STATUS_T_ALERT = 1 << 10
STATUS_RESET_DETECTED = 1 << 4  # power-up, soft reset or nRESET
STATUS_COMMAND_FAILED = 1 << 1  # last command not processed (invalid or failed checksum)
STATUS_WRITE_CRC_FAILED = 1 << 0
STATUS_AFTER_RESET = STATUS_ALERT_PENDING | STATUS_RESET_DETECTED  # 0x8010
CLEARED_BY_CLEAR_STATUS = STATUS_ALERT_PENDING | STATUS_RH_ALERT | STATUS_T_ALERT | STATUS_RESET_DETECTED

# Table 4, maximum column (VDD >= 2.4 V): the model is the slowest chip the datasheet allows
MEASUREMENT_MAX_S = {"high": 0.015, "medium": 0.006, "low": 0.004}
SOFT_RESET_MAX_S = 0.0015  # tSR
POWER_UP_MAX_S = 0.0015  # tPU

CRC_POLYNOMIAL = 0x31  # x^8 + x^5 + x^4 + 1, init 0xFF, no reflection, no final XOR (Table 20)
CRC_INIT = 0xFF
ADDRESSES = (0x44, 0x45)  # ADDR pin low / high


def crc8(data: bytes) -> int:
    """Sensirion CRC-8 over the two bytes of a word; crc8(b"\\xbe\\xef") == 0x92."""
    crc = CRC_INIT
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc << 1 ^ CRC_POLYNOMIAL) & 0xFF if crc & 0x80 else crc << 1 & 0xFF
    return crc


def word_with_crc(word: int) -> bytes:
    """A 16-bit word as the sensor sends it: MSB, LSB, CRC."""
    pair = bytes([word >> 8, word & 0xFF])
    return pair + bytes([crc8(pair)])


def raw_temperature(temperature_c: float) -> int:
    """S_T from T = -45 + 175 * S_T / (2^16 - 1), rounded to the nearest code, clamped."""
    return max(0, min(0xFFFF, round((temperature_c + 45.0) * 0xFFFF / 175.0)))


def raw_humidity(relative_humidity_pct: float) -> int:
    """S_RH from RH = 100 * S_RH / (2^16 - 1), rounded to the nearest code, clamped."""
    return max(0, min(0xFFFF, round(relative_humidity_pct * 0xFFFF / 100.0)))


@dataclass
class Climate:
    """The air around the sensor."""

    temperature_c: float = 20.0
    relative_humidity_pct: float = 50.0


class SHT3x:
    """Idle / busy (measuring, resetting) state machine with a one-shot output buffer."""

    part = "SHT31"

    def __init__(self, climate: Climate, now_s: float = 0.0) -> None:
        self.climate = climate
        self.status = STATUS_AFTER_RESET
        self.busy_until_s = now_s + POWER_UP_MAX_S
        self.measuring: tuple[str, bool, float] | None = None  # repeatability, stretching, done at
        self.output = b""  # data waiting for a read header; cleared once read
        self.received = bytearray()
        self.commands: list[int] = []

    def address(self, read: bool, now_s: float) -> bool:
        """NACK while resetting or measuring (unless clock stretching), and on a read with no data."""
        self._update(now_s)
        if now_s < self.busy_until_s:
            return False
        if self.measuring is not None:
            return read and self.measuring[1]  # clock stretching: ACK, hold SCL until the data is ready
        if read:
            return bool(self.output)
        self.received.clear()
        return True

    def write(self, data: bytes, now_s: float) -> None:
        """Collect command bytes; a 16-bit command executes when its second byte is acknowledged."""
        for byte in data:
            self.received.append(byte)
            if len(self.received) == 2:
                self._command(self.received[0] << 8 | self.received[1], now_s)
            elif len(self.received) > 2:  # data words of the alert limit commands: not modelled
                self.status |= STATUS_COMMAND_FAILED

    def read(self, length: int, now_s: float) -> bytes:
        """Shift out the output buffer (then 0xFF); the data is gone afterwards."""
        if self.measuring is not None:  # clock stretched read: the master waits for the conversion
            self._finish_measurement()
        answer, self.output = self.output, b""
        return (answer + b"\xff" * length)[:length]

    def stop(self, now_s: float) -> None:
        """STOP: a lone command byte is dropped."""
        self.received.clear()

    def _command(self, command: int, now_s: float) -> None:
        self.commands.append(command)
        self.status &= ~STATUS_COMMAND_FAILED
        if command in SINGLE_SHOT:
            repeatability, stretching = SINGLE_SHOT[command]
            self.output = b""
            self.measuring = (repeatability, stretching, now_s + MEASUREMENT_MAX_S[repeatability])
        elif command == SOFT_RESET:
            self.output = b""
            self.measuring = None
            self.status = STATUS_AFTER_RESET
            self.busy_until_s = now_s + SOFT_RESET_MAX_S
        elif command == READ_STATUS:
            self.output = word_with_crc(self.status)
        elif command == CLEAR_STATUS:
            self.status &= ~CLEARED_BY_CLEAR_STATUS
        elif command == HEATER_ENABLE:
            self.status |= STATUS_HEATER_ON
        elif command == HEATER_DISABLE:
            self.status &= ~STATUS_HEATER_ON
        elif command == BREAK:
            pass
        else:
            self.status |= STATUS_COMMAND_FAILED

    def _update(self, now_s: float) -> None:
        if self.measuring is not None and now_s >= self.measuring[2]:
            self._finish_measurement()

    def _finish_measurement(self) -> None:
        self.measuring = None
        self.output = word_with_crc(raw_temperature(self.climate.temperature_c)) + word_with_crc(
            raw_humidity(self.climate.relative_humidity_pct)
        )
