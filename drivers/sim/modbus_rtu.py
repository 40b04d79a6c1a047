"""Modbus RTU facts for the simulated slaves, written from the specifications, not from drivers/.

"MODBUS over Serial Line Specification and Implementation Guide V1.02" (RTU framing, the 3.5-character
silence, the CRC-16 of 6.2.2 and Appendix B) and "MODBUS Application Protocol Specification V1.1b3"
(function codes, exception codes and quantity limits). A wrong CRC in drivers/modbus.py must make the
driver's frames disagree with these.
"""

from __future__ import annotations

#: Function codes the simulated slaves serve (Application Protocol V1.1b3, 6.3, 6.4, 6.6, 6.12).
READ_HOLDING, READ_INPUT, WRITE_SINGLE, WRITE_MULTIPLE = 3, 4, 6, 16
EXCEPTION_FLAG = 0x80  # an exception response is the function code with its high bit set
ILLEGAL_FUNCTION, ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE = 1, 2, 3  # exception codes (section 7)
MAX_READ_REGISTERS = 125  # quantity of registers of a read: 1 to 125 (0x7D)
MAX_WRITE_REGISTERS = 123  # quantity of registers of a write multiple: 1 to 123 (0x7B)
CRC_INIT = 0xFFFF  # Serial Line V1.02, 6.2.2: CRC register preloaded with all 1s
CRC_POLYNOMIAL_REFLECTED = 0xA001  # x^16 + x^15 + x^2 + 1, shifted out LSB first

#: Serial Line V1.02, 2.5.1.1: frames are separated by a silence of at least 3.5 characters (11 bits
#: each in RTU), fixed at 1.750 ms above 19200 baud; 3.5 characters at 9600 baud are 4.01 ms.
CHARACTERS_BETWEEN_FRAMES = 3.5
BITS_PER_CHARACTER = 11
FIXED_SILENCE_S_ABOVE_19200_BAUD = 0.00175


def inter_frame_silence_s(baudrate: int) -> float:
    """The minimum silence t3.5 between two RTU frames at `baudrate`."""
    if baudrate > 19200:
        return FIXED_SILENCE_S_ABOVE_19200_BAUD
    return CHARACTERS_BETWEEN_FRAMES * BITS_PER_CHARACTER / baudrate


def crc16(data: bytes) -> int:
    """Modbus RTU CRC-16 (Serial Line V1.02, Appendix B): 01 03 00 00 00 0A gives 0xCDC5."""
    crc = CRC_INIT
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = crc >> 1 ^ CRC_POLYNOMIAL_REFLECTED if crc & 1 else crc >> 1
    return crc


def frame_with_crc(frame: bytes) -> bytes:
    """The frame followed by its CRC, low byte first as the line carries it."""
    crc = crc16(frame)
    return frame + bytes([crc & 0xFF, crc >> 8])


def frame_crc_ok(frame: bytes) -> bool:
    """True if the frame ends with the CRC of the bytes before it."""
    return len(frame) >= 4 and frame_with_crc(frame[:-2]) == frame
