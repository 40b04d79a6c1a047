"""Modbus RTU facts written out from the specifications, never taken from the code under test.

Sources: "MODBUS over Serial Line Specification and Implementation Guide V1.02" (2.5.1.1 RTU framing,
6.2.2 and Appendix B CRC generation); "MODBUS Application Protocol Specification V1.1b3" (6.3, 6.4
read requests, 7 exception responses); Modicon "Modbus Protocol Reference Guide" PI-MBUS-300 Rev. J
for exception code 07, which V1.1b3 no longer lists.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from drivers import modbus, registers
from drivers.modbus import ExceptionCode, crc16_modbus, crc_ok, with_crc
from drivers.sim import modbus_rtu
from drivers.sim.modbus_slave import FRAME_GAP_S, SimModbusSlave, SimRegisterDevice

SIM = Path(__file__).resolve().parents[1] / "drivers" / "sim"

# (frame without CRC, CRC bytes in the order the line carries them: low byte first)
CRC_EXAMPLES = [
    ("02 07", "41 12"),  # Serial Line V1.02, Appendix B example: CRC 0x1241, low byte 0x41 sent first
    ("01 03 00 00 00 0a", "c5 cd"),  # read 10 holding registers from address 0 of unit 1
    ("01 03 00 00 00 01", "84 0a"),
    ("01 04 00 00 00 02", "71 cb"),  # read one float32 input register pair (an Eastron voltage)
]


@pytest.mark.parametrize(("frame", "crc"), CRC_EXAMPLES)
def test_modbus_crc16_examples(frame: str, crc: str) -> None:
    data, wire = bytes.fromhex(frame), bytes.fromhex(crc)
    assert crc16_modbus(data) == wire[0] | wire[1] << 8
    assert with_crc(data) == data + wire
    assert crc_ok(data + wire)
    assert not crc_ok(data + wire[::-1])


def test_modbus_crc16_parameters() -> None:
    # 6.2.2: preload 0xFFFF, polynomial 0xA001 (x^16 + x^15 + x^2 + 1 reflected), LSB first, no final XOR
    assert crc16_modbus(b"") == 0xFFFF
    assert crc16_modbus(b"\x00") == 0x40BF
    assert modbus.CRC16_TABLE[1] == 0xC0C1  # Appendix B tables: auchCRCHi[1] = 0xC1, auchCRCLo[1] = 0xC0


def test_modbus_read_function_codes() -> None:
    # V1.1b3 6.3 Read Holding Registers 0x03, 6.4 Read Input Registers 0x04
    assert modbus.FUNCTION_CODES == {"holding": 0x03, "input": 0x04}


def test_modbus_exception_codes() -> None:
    # V1.1b3 section 7 (MODBUS Exception Codes); 07 from PI-MBUS-300 Rev. J
    assert {code.name: int(code) for code in ExceptionCode} == {
        "ILLEGAL_FUNCTION": 0x01,
        "ILLEGAL_DATA_ADDRESS": 0x02,
        "ILLEGAL_DATA_VALUE": 0x03,
        "SLAVE_DEVICE_FAILURE": 0x04,
        "ACKNOWLEDGE": 0x05,
        "SLAVE_DEVICE_BUSY": 0x06,
        "NEGATIVE_ACKNOWLEDGE": 0x07,
        "MEMORY_PARITY_ERROR": 0x08,
        "GATEWAY_PATH_UNAVAILABLE": 0x0A,
        "GATEWAY_TARGET_FAILED_TO_RESPOND": 0x0B,
    }
    assert modbus.RETRYABLE_EXCEPTIONS == {0x06}  # busy: "the client should retransmit the message later"


def test_modbus_at_most_125_registers_per_read() -> None:
    # V1.1b3 6.3 and 6.4: Quantity of Registers 1 to 125 (0x7D)
    assert registers.MAX_REGISTERS_PER_READ == 0x7D


def test_modbus_float32_is_ieee754_high_word_first() -> None:
    # IEEE 754 single precision: 230.0 = 0x43660000, 1.0 = 0x3F800000, -1.5 = 0xBFC00000
    assert registers.encode_float32(230.0) == (0x4366, 0x0000)
    assert registers.decode_float32([0x3F80, 0x0000]) == 1.0
    assert registers.decode_float32([0xBFC0, 0x0000]) == -1.5


@pytest.mark.parametrize(("frame", "crc"), CRC_EXAMPLES)
def test_modbus_twin_crc16_examples(frame: str, crc: str) -> None:
    data, wire = bytes.fromhex(frame), bytes.fromhex(crc)
    assert modbus_rtu.frame_with_crc(data) == data + wire
    assert modbus_rtu.frame_crc_ok(data + wire)
    assert not modbus_rtu.frame_crc_ok(data + wire[::-1])


def test_modbus_twin_protocol_constants() -> None:
    assert (modbus_rtu.CRC_INIT, modbus_rtu.CRC_POLYNOMIAL_REFLECTED) == (0xFFFF, 0xA001)
    assert (modbus_rtu.READ_HOLDING, modbus_rtu.READ_INPUT, modbus_rtu.WRITE_SINGLE, modbus_rtu.WRITE_MULTIPLE) == (
        0x03, 0x04, 0x06, 0x10,
    )
    assert (modbus_rtu.MAX_READ_REGISTERS, modbus_rtu.MAX_WRITE_REGISTERS) == (0x7D, 0x7B)
    assert modbus_rtu.EXCEPTION_FLAG == 0x80


def test_modbus_inter_frame_silence_is_3_5_characters() -> None:
    # 2.5.1.1: t3.5 between frames, 11-bit RTU characters; fixed 1.750 ms above 19200 baud
    assert modbus_rtu.inter_frame_silence_s(9600) == pytest.approx(3.5 * 11 / 9600)  # 4.01 ms
    assert modbus_rtu.inter_frame_silence_s(19200) == pytest.approx(3.5 * 11 / 19200)
    assert modbus_rtu.inter_frame_silence_s(38400) == 0.00175
    assert modbus_rtu.inter_frame_silence_s(2400) <= FRAME_GAP_S < 0.5  # a silence, well within a timeout


def test_modbus_twin_answers_with_exception_responses() -> None:
    # 7: exception response = function code | 0x80, then the exception code
    line = SimModbusSlave()
    line.add_device(1, SimRegisterDevice({0: 0x4366, 1: 0x0000}))
    answer = line.answer(bytes.fromhex("01 04 00 00 00 02 71 cb"))
    assert answer == bytes.fromhex("01 04 04 43 66 00 00") + answer[-2:]
    assert answer[-2:] == modbus_rtu.frame_with_crc(answer[:-2])[-2:]
    illegal = line.answer(modbus_rtu.frame_with_crc(bytes.fromhex("01 04 00 02 00 02")))
    assert illegal is not None and illegal[1:3] == bytes([0x84, 0x02])  # illegal data address
    too_many = line.answer(modbus_rtu.frame_with_crc(bytes.fromhex("01 04 00 00 00 7e")))  # 126 registers
    assert too_many is not None and too_many[1:3] == bytes([0x84, 0x03])  # illegal data value
    assert line.answer(bytes.fromhex("01 04 00 00 00 02 cb 71")) is None  # bad CRC: silence


@pytest.mark.parametrize("module", ["modbus_slave.py", "modbus_device.py", "modbus_rtu.py", "eastron_maps.py"])
def test_modbus_twin_takes_no_fact_from_the_drivers(module: str) -> None:
    imported = {
        node.module
        for node in ast.walk(ast.parse((SIM / module).read_text()))
        if isinstance(node, ast.ImportFrom)
    }
    allowed = {"drivers.sim.modbus_rtu", "drivers.sim.eastron_maps", "drivers.sim.modbus_device"}
    assert {name for name in imported if name and name.startswith("drivers")} <= allowed
