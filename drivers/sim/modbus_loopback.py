"""A pymodbus-client stand-in carrying RTU frames to a SimModbusSlave in-process: no pty, no line timing.

ModbusRtuBus takes it as `client_factory` for long simulations (a simulated year would
otherwise spend its time in the serial line's polling); framing, CRC, faults and exception
responses are the same frames the pty carries.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from pymodbus.exceptions import ModbusIOException
from pymodbus.pdu import ExceptionResponse, ModbusPDU
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse, ReadInputRegistersResponse

from drivers.modbus import crc_ok, with_crc
from drivers.sim.modbus_slave import SimModbusSlave

READ_HOLDING = 0x03
READ_INPUT = 0x04


class LoopbackModbusClient:
    """Answers read requests through `slave.answer(frame)`, raising as pymodbus does on silence or bad CRC."""

    def __init__(
        self,
        port: str,
        *,
        slave: SimModbusSlave,
        trace_packet: Callable[[bool, bytes], bytes] | None = None,
        **_serial_settings: Any,
    ) -> None:
        self.port = port
        self._slave = slave
        self._trace = trace_packet or (lambda _sending, data: data)

    def read_input_registers(self, address: int, *, count: int, device_id: int) -> ModbusPDU:
        """Function code 4."""
        return self._read(READ_INPUT, address, count, device_id)

    def read_holding_registers(self, address: int, *, count: int, device_id: int) -> ModbusPDU:
        """Function code 3."""
        return self._read(READ_HOLDING, address, count, device_id)

    def _read(self, function_code: int, address: int, count: int, unit_id: int) -> ModbusPDU:
        request = self._trace(True, with_crc(struct.pack(">BBHH", unit_id, function_code, address, count)))
        answer = self._slave.answer(request)
        if answer is None:
            raise ModbusIOException("no response received (simulated line)")
        answer = self._trace(False, answer)
        if not crc_ok(answer):
            raise ModbusIOException("frame check failed (simulated line)")
        pdu = answer[1:-2]
        if pdu[0] & 0x80:
            return ExceptionResponse(pdu[0] & 0x7F, pdu[1], device_id=unit_id)
        words = list(struct.unpack(f">{pdu[1] // 2}H", pdu[2 : 2 + pdu[1]]))
        response = ReadInputRegistersResponse if function_code == READ_INPUT else ReadHoldingRegistersResponse
        return response(dev_id=unit_id, registers=words)

    def close(self) -> None:
        """Nothing to release."""
