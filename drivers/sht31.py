"""Sensirion SHT3x-DIS (SHT31) temperature and humidity sensor on I2C, single-shot mode."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from types import MappingProxyType

from smbus2 import i2c_msg

from drivers.errors import BadCRCError, OutOfRangeError, SensorError
from drivers.i2c_scan import I2CBus, bus_error, check_driver_args, format_address
from drivers.reading import Reading, reading


class Command(IntEnum):
    """16-bit commands of the SHT3x-DIS datasheet used by this driver."""

    MEASURE_HIGH = 0x2400  # single shot, clock stretching disabled
    MEASURE_MEDIUM = 0x240B
    MEASURE_LOW = 0x2416
    SOFT_RESET = 0x30A2
    READ_STATUS = 0xF32D
    CLEAR_STATUS = 0x3041
    HEATER_ON = 0x306D
    HEATER_OFF = 0x3066


ADDRESSES = (0x44, 0x45)  # ADDR pin low / high
MEASURE_COMMANDS = MappingProxyType(
    {"high": Command.MEASURE_HIGH, "medium": Command.MEASURE_MEDIUM, "low": Command.MEASURE_LOW}
)
MAX_MEASUREMENT_S = MappingProxyType({"high": 0.015, "medium": 0.006, "low": 0.004})
SOFT_RESET_MAX_S = 0.0015
CRC_POLYNOMIAL = 0x31
CRC_INIT = 0xFF
RAW_FULL_SCALE = 0xFFFF
TEMPERATURE_RANGE_C = (-40.0, 125.0)  # specified operating range
TEMPERATURE_MARGIN_C = 1.0  # accuracy slack before a value at the range ends counts as impossible
STATUS_ALERT_PENDING = 1 << 15
STATUS_HEATER_ON = 1 << 13
STATUS_RESET_DETECTED = 1 << 4
STATUS_COMMAND_FAILED = 1 << 1


def _crc8_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = ((crc << 1) ^ CRC_POLYNOMIAL) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
        table.append(crc)
    return tuple(table)


CRC8_TABLE: tuple[int, ...] = _crc8_table()


def crc8(data: bytes) -> int:
    """Sensirion CRC-8: polynomial 0x31, init 0xFF, no reflection (CRC(0xBEEF) = 0x92)."""
    crc = CRC_INIT
    for byte in data:
        crc = CRC8_TABLE[crc ^ byte]
    return crc


def raw_to_temperature_c(raw: int) -> float:
    """T = -45 + 175 * S_T / (2^16 - 1)."""
    return -45.0 + 175.0 * raw / RAW_FULL_SCALE


def raw_to_relative_humidity_pct(raw: int) -> float:
    """RH = 100 * S_RH / (2^16 - 1)."""
    return 100.0 * raw / RAW_FULL_SCALE


def split_words(frame: bytes) -> list[tuple[int, bool]]:
    """(word, crc_ok) for each msb, lsb, crc triplet of a frame."""
    return [
        (frame[i] << 8 | frame[i + 1], crc8(frame[i:i + 2]) == frame[i + 2])
        for i in range(0, len(frame) - 2, 3)
    ]


class SHT31:
    """SHT31 driver: soft reset on (re)start, single-shot measurement, CRC checked words."""

    part = "SHT31"

    def __init__(
        self,
        bus: I2CBus,
        address: int = 0x44,
        *,
        bus_name: str,
        sleep: Callable[[float], None],
        repeatability: str = "high",
    ) -> None:
        check_driver_args(address, ADDRESSES, bus_name, sleep)
        if repeatability not in MEASURE_COMMANDS:
            raise ValueError(f"repeatability must be one of {tuple(MEASURE_COMMANDS)}, not {repeatability!r}")
        self._bus = bus
        self._address = address
        self.bus_name = bus_name
        self.address = format_address(address)
        self._sleep = sleep
        self.repeatability = repeatability
        self._initialised = False

    def read(self) -> tuple[Reading, ...]:
        """Measure temperature and relative humidity; raise SensorError on failure."""
        raw_t, raw_rh = self._transaction(
            MEASURE_COMMANDS[self.repeatability], MAX_MEASUREMENT_S[self.repeatability], 6
        )
        temperature_c = raw_to_temperature_c(raw_t)
        low_c, high_c = TEMPERATURE_RANGE_C
        if not low_c - TEMPERATURE_MARGIN_C <= temperature_c <= high_c + TEMPERATURE_MARGIN_C:
            raise OutOfRangeError(
                f"temperature {temperature_c:.1f} °C is outside the sensor's {low_c:.0f}..{high_c:.0f} °C range",
                part=self.part, bus=self.bus_name, address=self.address,
            )
        return (
            reading("temperature_c", "temperature", temperature_c),
            reading("relative_humidity_pct", "relative_humidity", raw_to_relative_humidity_pct(raw_rh)),
        )

    def read_status(self) -> int:
        """The 16-bit status register (bit 13 heater on, bit 4 reset detected ...)."""
        (status,) = self._transaction(Command.READ_STATUS, 0.0, 3)
        return status

    def set_heater(self, on: bool) -> None:
        """Switch the internal heater (for condensation checks) on or off."""
        self._transaction(Command.HEATER_ON if on else Command.HEATER_OFF, 0.0, 0)

    def close(self) -> None:
        """Nothing runs between single shots; forget the chip state."""
        self._initialised = False

    def _transaction(self, command: Command, wait_s: float, length: int) -> list[int]:
        try:
            if not self._initialised:
                self._send(Command.SOFT_RESET)
                self._sleep(SOFT_RESET_MAX_S)
                self._send(Command.CLEAR_STATUS)
                self._initialised = True
            self._send(command)
            if length == 0:
                return []
            self._sleep(wait_s)
            message = i2c_msg.read(self._address, length)
            self._bus.i2c_rdwr(message)
        except SensorError:
            self._initialised = False
            raise
        except OSError as exc:
            self._initialised = False
            raise bus_error(exc, part=self.part, bus_name=self.bus_name, address=self._address) from exc
        words = split_words(bytes(message))
        if not all(ok for _, ok in words):
            raise BadCRCError(
                f"checksum mismatch in the answer to command 0x{command:04x}: noise on the wires?",
                part=self.part, bus=self.bus_name, address=self.address,
            )
        return [word for word, _ in words]

    def _send(self, command: Command) -> None:
        message = i2c_msg.write(self._address, [command >> 8, command & 0xFF])
        self._bus.i2c_rdwr(message)
