"""Simulated Modbus slaves: a register device with its faults, and the Eastron meters built on it.

Written from the specifications, independently of the drivers (see drivers/sim/modbus_rtu.py for the
protocol facts, drivers/sim/eastron_maps.py for the meters' register maps).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Mapping, Sequence

from drivers.sim.eastron_maps import EASTRON_MAX_REGISTERS_PER_READ, SDM120_FLOAT_REGISTERS, SDM630_FLOAT_REGISTERS
from drivers.sim.modbus_rtu import (
    EXCEPTION_FLAG,
    ILLEGAL_DATA_ADDRESS,
    ILLEGAL_DATA_VALUE,
    ILLEGAL_FUNCTION,
    MAX_READ_REGISTERS,
    MAX_WRITE_REGISTERS,
    READ_HOLDING,
    READ_INPUT,
    WRITE_MULTIPLE,
    WRITE_SINGLE,
)

Fault = None | str | tuple[str, int] | tuple[str, float]
#: The longest a simulated slave may take to answer ("late" fault).
MAX_LATE_S = 10.0

_FLOAT32 = struct.Struct(">f")  # Eastron: IEEE 754 single precision, most significant byte first
_WORDS = struct.Struct(">HH")  # ... so the high word is the first register



class SimModbusException(Exception):
    """A Modbus exception the simulated device answers with."""

    def __init__(self, code: int) -> None:
        super().__init__(f"modbus exception {code}")
        self.code = code


def _check_fault(fault: Fault) -> Fault:
    if fault is None or fault in ("silent", "bad_crc"):
        return fault
    if isinstance(fault, tuple) and len(fault) == 2 and fault[0] == "late":
        if isinstance(fault[1], (int, float)) and 0 < fault[1] <= MAX_LATE_S:
            return fault
        raise ValueError(f"a late answer comes after 0 to {MAX_LATE_S} s, got {fault[1]!r}")
    if (
        isinstance(fault, tuple)
        and len(fault) == 2
        and fault[0] == "exception"
        and isinstance(fault[1], int)
        and 1 <= fault[1] <= 0x7F
    ):
        return fault
    raise ValueError(
        f'fault must be None, "silent", "bad_crc", ("exception", code) or ("late", seconds), got {fault!r}'
    )


class SimRegisterDevice:
    """A Modbus slave holding input and holding registers; addresses not defined are illegal."""

    def __init__(
        self,
        input_registers: Mapping[int, int] | None = None,
        holding_registers: Mapping[int, int] | None = None,
        *,
        max_registers_per_read: int = 125,
    ) -> None:
        self._lock = threading.RLock()
        self._tables: dict[str, dict[int, int]] = {"input": {}, "holding": {}}
        self.max_registers_per_read = max_registers_per_read
        self._fault: Fault = None
        self.fail_times: int | None = None
        self.request_count = 0
        for address, word in (input_registers or {}).items():
            self.set_registers("input", address, [word])
        for address, word in (holding_registers or {}).items():
            self.set_registers("holding", address, [word])

    @property
    def fault(self) -> Fault:
        """None, "silent", "bad_crc" or ("exception", code); applies to `fail_times` requests if set."""
        return self._fault

    @fault.setter
    def fault(self, value: Fault) -> None:
        self._fault = _check_fault(value)

    def take_fault(self) -> Fault:
        """Count one request addressed to this device and return the fault to apply to it."""
        with self._lock:
            self.request_count += 1
            if self._fault is None:
                return None
            if self.fail_times is None:
                return self._fault
            if self.fail_times > 0:
                self.fail_times -= 1
                return self._fault
            return None

    def set_registers(self, function: str, address: int, words: Sequence[int]) -> None:
        """Define or overwrite registers (this also makes their addresses legal)."""
        table = self._tables[function]
        with self._lock:
            for offset, word in enumerate(words):
                if not 0 <= word <= 0xFFFF or not 0 <= address + offset <= 0xFFFF:
                    raise ValueError(f"register {address + offset}: {word!r} is not a 16-bit word")
                table[address + offset] = word

    def set_float32(self, function: str, address: int, value: float, word_order: str = "big") -> None:
        """Store an IEEE 754 float in two registers."""
        high, low = struct.unpack(">HH", struct.pack(">f", value))
        self.set_registers(function, address, [high, low] if word_order == "big" else [low, high])

    def set_uint32(self, function: str, address: int, value: int, word_order: str = "big") -> None:
        """Store an unsigned (or, if negative, two's-complement) 32-bit integer in two registers."""
        raw = value & 0xFFFF_FFFF
        high, low = raw >> 16, raw & 0xFFFF
        self.set_registers(function, address, [high, low] if word_order == "big" else [low, high])

    def set_int16(self, function: str, address: int, value: int) -> None:
        """Store a signed 16-bit integer in one register."""
        self.set_registers(function, address, [value & 0xFFFF])

    def registers(self, function: str) -> dict[int, int]:
        """A copy of one register table."""
        with self._lock:
            self._refresh()
            return dict(self._tables[function])

    def _refresh(self) -> None:
        """Hook for subclasses to write their current values into the tables."""

    def read(self, function: str, address: int, count: int) -> list[int]:
        """Registers as a read request sees them, or SimModbusException."""
        if not 1 <= count <= min(MAX_READ_REGISTERS, self.max_registers_per_read):
            raise SimModbusException(ILLEGAL_DATA_VALUE)
        with self._lock:
            self._refresh()
            table = self._tables[function]
            try:
                return [table[a] for a in range(address, address + count)]
            except KeyError:
                raise SimModbusException(ILLEGAL_DATA_ADDRESS) from None

    def write(self, address: int, words: Sequence[int]) -> None:
        """Write holding registers that already exist, or SimModbusException."""
        with self._lock:
            table = self._tables["holding"]
            if any(a not in table for a in range(address, address + len(words))):
                raise SimModbusException(ILLEGAL_DATA_ADDRESS)
            for offset, word in enumerate(words):
                table[address + offset] = word

    def respond(self, pdu: bytes) -> bytes:
        """The response PDU (function code + data) to a request PDU."""
        function_code = pdu[0]
        try:
            if function_code in (READ_HOLDING, READ_INPUT) and len(pdu) == 5:
                address, count = struct.unpack(">HH", pdu[1:5])
                words = self.read("holding" if function_code == READ_HOLDING else "input", address, count)
                return bytes([function_code, 2 * count]) + struct.pack(f">{count}H", *words)
            if function_code == WRITE_SINGLE and len(pdu) == 5:
                address, word = struct.unpack(">HH", pdu[1:5])
                self.write(address, [word])
                return pdu
            if function_code == WRITE_MULTIPLE and len(pdu) >= 6:
                address, count, byte_count = struct.unpack(">HHB", pdu[1:6])
                if not 1 <= count <= MAX_WRITE_REGISTERS or byte_count != 2 * count or len(pdu) != 6 + byte_count:
                    raise SimModbusException(ILLEGAL_DATA_VALUE)
                self.write(address, struct.unpack(f">{count}H", pdu[6:]))
                return pdu[:5]
            raise SimModbusException(ILLEGAL_FUNCTION)
        except SimModbusException as exc:
            return bytes([function_code | EXCEPTION_FLAG, exc.code])


def _float_meter_tables(spans: Sequence[tuple[int, int]]) -> dict[int, int]:
    return {address: 0 for start, end in spans for address in range(start, end)}


class _SimEastronMeter(SimRegisterDevice):
    """An Eastron meter: float32 input registers, reserved ones read as zero, 80 per read."""

    #: reading name -> first input register of its float32 value (datasheet addresses).
    FLOAT_REGISTERS: Mapping[str, int] = {}
    #: [start, end) ranges of input registers the meter answers for.
    INPUT_SPANS: Sequence[tuple[int, int]] = ()

    def __init__(self, values: Mapping[str, float]) -> None:
        super().__init__(_float_meter_tables(self.INPUT_SPANS), max_registers_per_read=EASTRON_MAX_REGISTERS_PER_READ)
        self._encoded: dict[str, tuple[float, int, int]] = {}
        for name, value in values.items():
            setattr(self, name, float(value))

    def _refresh(self) -> None:
        # Called on every read: rewrite only the registers whose words differ from the value's, and
        # skip encoding a value still the very object encoded last time.
        table = self._tables["input"]
        encoded = self._encoded
        for name, address in self.FLOAT_REGISTERS.items():
            value = getattr(self, name)
            last = encoded.get(name)
            if last is not None and last[0] is value:
                high, low = last[1], last[2]
            else:
                high, low = _WORDS.unpack(_FLOAT32.pack(value))
                encoded[name] = (value, high, low)
            if table.get(address) != high or table.get(address + 1) != low:
                self.set_registers("input", address, [high, low])


class SimSDM120(_SimEastronMeter):
    """Eastron SDM120-Modbus single-phase meter; every value attribute is settable."""

    FLOAT_REGISTERS = SDM120_FLOAT_REGISTERS
    INPUT_SPANS = ((0x0000, 0x0060), (0x0156, 0x015A))

    def __init__(
        self,
        voltage_v: float = 230.0,
        current_a: float = 0.0,
        active_power_w: float = 0.0,
        apparent_power_va: float = 0.0,
        reactive_power_var: float = 0.0,
        power_factor: float = 1.0,
        frequency_hz: float = 50.0,
        import_energy_kwh: float = 0.0,
        export_energy_kwh: float = 0.0,
        total_energy_kwh: float = 0.0,
    ) -> None:
        super().__init__({k: v for k, v in locals().items() if k in self.FLOAT_REGISTERS})


class SimSDM630(_SimEastronMeter):
    """Eastron SDM630-Modbus v2 three-phase meter; every value attribute is settable."""

    FLOAT_REGISTERS = SDM630_FLOAT_REGISTERS
    INPUT_SPANS = ((0x0000, 0x0060), (0x00C8, 0x00F0), (0x0156, 0x0160))

    def __init__(
        self,
        voltage_l1_v: float = 230.0,
        voltage_l2_v: float = 230.0,
        voltage_l3_v: float = 230.0,
        current_l1_a: float = 0.0,
        current_l2_a: float = 0.0,
        current_l3_a: float = 0.0,
        active_power_l1_w: float = 0.0,
        active_power_l2_w: float = 0.0,
        active_power_l3_w: float = 0.0,
        active_power_w: float = 0.0,
        power_factor: float = 1.0,
        frequency_hz: float = 50.0,
        import_energy_kwh: float = 0.0,
        export_energy_kwh: float = 0.0,
        total_energy_kwh: float = 0.0,
    ) -> None:
        super().__init__({k: v for k, v in locals().items() if k in self.FLOAT_REGISTERS})
