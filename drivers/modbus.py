"""Modbus RTU master on an RS-485 serial port, with failures classified per attempt."""

from __future__ import annotations

import enum
import struct
import threading
import time
from array import array
from collections.abc import Callable
from typing import Any

from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.framer import FramerType
from pymodbus.pdu import ModbusPDU

from drivers.errors import (
    BadCRCError,
    DeviceReportedError,
    NoAnswerError,
    NotPluggedError,
    SensorError,
)
from drivers.registers import MAX_REGISTERS_PER_READ


class ExceptionCode(enum.IntEnum):
    """Modbus exception codes a slave can answer with."""

    ILLEGAL_FUNCTION = 1
    ILLEGAL_DATA_ADDRESS = 2
    ILLEGAL_DATA_VALUE = 3
    SLAVE_DEVICE_FAILURE = 4
    ACKNOWLEDGE = 5
    SLAVE_DEVICE_BUSY = 6
    NEGATIVE_ACKNOWLEDGE = 7
    MEMORY_PARITY_ERROR = 8
    GATEWAY_PATH_UNAVAILABLE = 10
    GATEWAY_TARGET_FAILED_TO_RESPOND = 11


EXCEPTION_NAMES: dict[int, str] = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "slave device failure",
    5: "acknowledge (slow operation still running)",
    6: "slave device busy",
    7: "negative acknowledge",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}

#: Exception codes after which asking again may succeed.
RETRYABLE_EXCEPTIONS: frozenset[int] = frozenset({ExceptionCode.SLAVE_DEVICE_BUSY})

FUNCTION_CODES: dict[str, int] = {"holding": 3, "input": 4}
PARITIES: tuple[str, ...] = ("N", "E", "O")


def _crc16_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


CRC16_TABLE: tuple[int, ...] = _crc16_table()


def _crc16_word_table() -> array[int]:
    # The CRC after two more bytes depends only on crc ^ (first | second << 8): one lookup per word.
    table = CRC16_TABLE
    words = array("H", bytes(2 * 0x10000))
    for value in range(0x10000):
        low = table[value & 0xFF]
        words[value] = (low >> 8) ^ table[((value >> 8) ^ low) & 0xFF]
    return words


CRC16_WORD_TABLE: array[int] = _crc16_word_table()


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS of `data` (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
    crc = 0xFFFF
    words = CRC16_WORD_TABLE
    for word in struct.unpack_from(f"<{len(data) // 2}H", data):
        crc = words[crc ^ word]
    if len(data) % 2:
        crc = (crc >> 8) ^ CRC16_TABLE[(crc ^ data[-1]) & 0xFF]
    return crc


def with_crc(frame: bytes) -> bytes:
    """Frame followed by its CRC in wire order (low byte first)."""
    return frame + crc16_modbus(frame).to_bytes(2, "little")


def crc_ok(frame: bytes) -> bool:
    """True if the last two bytes of an RTU frame are the CRC of the rest."""
    return len(frame) >= 4 and crc16_modbus(frame[:-2]) == int.from_bytes(frame[-2:], "little")


def exception_name(code: int) -> str:
    """Technician-readable name of a Modbus exception code."""
    return EXCEPTION_NAMES.get(code, f"unknown exception code {code}")


class _Outcome(enum.Enum):
    NO_ANSWER = "no answer"
    BAD_CRC = "bad CRC"
    PORT = "port unavailable"
    BUSY = "busy"
    WRONG_LENGTH = "wrong length"


class ModbusRtuBus:
    """One RS-485 line driven as Modbus RTU master through pymodbus and pyserial."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        parity: str = "N",
        stopbits: int = 1,
        bytesize: int = 8,
        timeout_s: float = 0.5,
        retries: int = 2,
        name: str = "rs485",
        client_factory: Callable[..., Any] = ModbusSerialClient,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not port:
            raise ValueError("port must name a serial device, e.g. /dev/ttyUSB0")
        if baudrate <= 0:
            raise ValueError(f"baudrate must be positive, got {baudrate}")
        if parity not in PARITIES:
            raise ValueError(f"parity must be one of {PARITIES}, got {parity!r}")
        if stopbits not in (1, 2):
            raise ValueError(f"stopbits must be 1 or 2, got {stopbits}")
        if bytesize not in (7, 8):
            raise ValueError(f"bytesize must be 7 or 8, got {bytesize}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self.port = port
        self.name = name
        self.timeout_s = timeout_s
        self.retries = retries
        self._lock = threading.Lock()
        self._sleep = sleep
        self._received: list[bytes] = []
        self._client = client_factory(
            port,
            framer=FramerType.RTU,
            baudrate=baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=stopbits,
            timeout=timeout_s,
            retries=0,
            name=name,
            trace_packet=self._trace_packet,
        )

    def _trace_packet(self, sending: bool, data: bytes) -> bytes:
        if not sending:
            self._received.append(bytes(data))
        return data

    def read_registers(
        self,
        unit_id: int,
        address: int,
        count: int,
        function: str = "input",
        *,
        part: str,
    ) -> list[int]:
        """Read `count` registers, retrying timeouts, bad CRCs and "busy"; raise SensorError."""
        if not 1 <= unit_id <= 247:
            raise ValueError(f"unit_id must be within 1..247, got {unit_id}")
        if not 1 <= count <= MAX_REGISTERS_PER_READ:
            raise ValueError(f"count must be within 1..{MAX_REGISTERS_PER_READ}, got {count}")
        if not 0 <= address <= 0x10000 - count:
            raise ValueError(f"address {address} + count {count} leaves 0..65535")
        if function not in FUNCTION_CODES:
            raise ValueError(f"function must be one of {tuple(FUNCTION_CODES)}, got {function!r}")
        where = f"unit {unit_id}"
        with self._lock:
            outcomes: list[_Outcome] = []
            last_bad_frame = b""
            wrong_length = 0
            for _ in range(self.retries + 1):
                self._received.clear()
                try:
                    response = self._request(unit_id, address, count, function)
                except ConnectionException:
                    self._client.close()
                    outcomes.append(_Outcome.PORT)
                    continue
                except ModbusException:
                    frame = self._received[-1] if self._received else b""
                    if frame and not crc_ok(frame):
                        outcomes.append(_Outcome.BAD_CRC)
                        last_bad_frame = frame
                    else:
                        outcomes.append(_Outcome.NO_ANSWER)
                    continue
                if response.isError():
                    code = int(getattr(response, "exception_code", 0))
                    if code in RETRYABLE_EXCEPTIONS:
                        outcomes.append(_Outcome.BUSY)
                        continue
                    raise DeviceReportedError(
                        f"answered Modbus exception {code} ({exception_name(code)}) to a read of "
                        f"{count} {function} register(s) at {address:#06x}",
                        part=part,
                        bus=self.name,
                        address=where,
                    )
                registers = list(response.registers)
                if len(registers) != count:
                    # Not the answer to this request: most likely a slow meter's late answer to the one
                    # before. Let the line fall quiet (the next request drains what came) and ask again.
                    outcomes.append(_Outcome.WRONG_LENGTH)
                    wrong_length = len(registers)
                    self._sleep(self.timeout_s / 2)
                    continue
                return registers
            raise self._failure(
                outcomes, last_bad_frame, part=part, address=where,
                wrong=f"{wrong_length} register(s) instead of {count} for {function} register(s) at {address:#06x}",
            )

    def _request(self, unit_id: int, address: int, count: int, function: str) -> ModbusPDU:
        if function == "holding":
            return self._client.read_holding_registers(address, count=count, device_id=unit_id)
        return self._client.read_input_registers(address, count=count, device_id=unit_id)

    def _failure(
        self, outcomes: list[_Outcome], bad_frame: bytes, *, part: str, address: str, wrong: str
    ) -> SensorError:
        attempts = len(outcomes)
        if _Outcome.WRONG_LENGTH in outcomes:
            return DeviceReportedError(
                f"answered {wrong} ({outcomes.count(_Outcome.WRONG_LENGTH)} of {attempts} answers): "
                "late answers to earlier requests? check the meter's response time against timeout_s",
                part=part,
                bus=self.name,
                address=address,
            )
        if _Outcome.BAD_CRC in outcomes:
            bad = outcomes.count(_Outcome.BAD_CRC)
            return BadCRCError(
                f"{bad} of {attempts} answers had a wrong CRC (last frame {bad_frame.hex(' ')}); "
                "check RS-485 wiring, termination and A/B polarity",
                part=part,
                bus=self.name,
                address=address,
            )
        if _Outcome.BUSY in outcomes:
            return DeviceReportedError(
                f"answered Modbus exception 6 ({exception_name(6)}) on all {attempts} attempts",
                part=part,
                bus=self.name,
                address=address,
            )
        if all(outcome is _Outcome.PORT for outcome in outcomes):
            return NotPluggedError(
                f"serial port {self.port} cannot be opened (RS-485 adapter unplugged?)",
                part=part,
                bus=self.name,
                address=address,
            )
        return NoAnswerError(
            f"no answer after {attempts} attempt(s) of {self.timeout_s:g} s; check power, "
            "unit id, baud rate and wiring",
            part=part,
            bus=self.name,
            address=address,
        )

    def close(self) -> None:
        """Release the serial port (it is reopened on the next read)."""
        with self._lock:
            self._client.close()

    def __enter__(self) -> ModbusRtuBus:
        """Use the bus in a with-block that closes it."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
