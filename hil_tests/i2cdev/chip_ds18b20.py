"""Maxim DS18B20 1-Wire thermometer as Linux's w1_therm driver shows it in sysfs (`w1_slave`).

Sources: Maxim "DS18B20 Programmable Resolution 1-Wire Digital Thermometer", 19-7487 Rev 6
(Figure 4 temperature register, Figure 7 scratchpad, Figure 8 configuration register, Table 2
resolution and tCONV, "CRC Generation": polynomial X^8 + X^5 + X^4 + 1); Linux
drivers/w1/slaves/w1_therm.c (w1_slave_show() text format, w1_DS18B20_convert_temp()).
Written independently of drivers/ and drivers/sim/: this is the oracle the driver is tested against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FAMILY_CODE = 0x28
# Table 2: configuration register R1 R0 -> resolution, maximum conversion time
CONFIG_BY_RESOLUTION = {9: 0b0_00_11111, 10: 0b0_01_11111, 11: 0b0_10_11111, 12: 0b0_11_11111}
CONVERSION_MAX_S = {9: 0.09375, 10: 0.1875, 11: 0.375, 12: 0.750}
POWER_ON_TEMPERATURE_RAW = 0x0550  # +85 °C until the first conversion
TH_FACTORY = 0x4B  # TH/TL user bytes as commonly shipped (EEPROM; the datasheet leaves them to the user)
TL_FACTORY = 0x46
RESERVED_FF = 0xFF  # scratchpad byte 5
RESERVED_10 = 0x10  # scratchpad byte 7
ROM_ID = re.compile(r"^28-[0-9a-f]{12}$")


def crc8_maxim(data: bytes) -> int:
    """Dallas/Maxim CRC-8, X^8 + X^5 + X^4 + 1, shifted LSB first from a zero register."""
    crc = 0
    for byte in data:
        for bit in range(8):
            mix = (crc ^ byte >> bit) & 1
            crc >>= 1
            if mix:
                crc ^= 0x8C  # the polynomial's bits 7..0 reflected: x^0, x^4, x^5 -> 1000_1100
    return crc


def temperature_raw(temperature_c: float, resolution_bits: int) -> int:
    """The temperature register: 16-bit two's complement, 1/16 °C per LSB, nearest code.

    Below 12 bits the datasheet leaves the low bits undefined; this chip leaves there what the
    12-bit conversion gave, so a reader must mask them (Figure 4: bit 0 undefined at 11 bits, ...).
    """
    if resolution_bits not in CONFIG_BY_RESOLUTION:
        raise ValueError(f"resolution must be 9..12 bits, not {resolution_bits}")
    code = round(temperature_c * 16)
    code = max(-55 * 16, min(125 * 16, code))
    return code & 0xFFFF


def scratchpad(raw: int, resolution_bits: int) -> bytes:
    """The 9 scratchpad bytes after a conversion (Figure 7), byte 8 the CRC of bytes 0..7."""
    count_remain = 0x10 - (raw & 0x0F)  # byte 6, "reserved": genuine parts hold 0x10 - (T & 0x0F)
    data = bytes([
        raw & 0xFF, raw >> 8, TH_FACTORY, TL_FACTORY, CONFIG_BY_RESOLUTION[resolution_bits],
        RESERVED_FF, count_remain, RESERVED_10,
    ])
    return data + bytes([crc8_maxim(data)])


def kernel_millidegrees(pad: bytes) -> int:
    """w1_DS18B20_convert_temp(): (s16) le16 register * 1000 / 16, C division (towards zero)."""
    value = pad[0] | pad[1] << 8
    signed = value - 0x10000 if value & 0x8000 else value
    magnitude = abs(signed) * 1000 // 16
    return -magnitude if signed < 0 else magnitude


def w1_slave_text(pad: bytes) -> str:
    """The two lines w1_slave_show() prints: bytes, ": crc=XX YES|NO"; bytes again, "t=<m°C>"."""
    crc = crc8_maxim(pad[:8])
    verdict = "YES" if crc == pad[8] else "NO"
    hex_bytes = " ".join(f"{byte:02x}" for byte in pad)
    return f"{hex_bytes} : crc={crc:02x} {verdict}\n{hex_bytes} t={kernel_millidegrees(pad)}\n"


@dataclass
class Thermometer:
    """One DS18B20 on the bus: its ROM id, resolution and the temperature of what it touches."""

    rom_id: str
    temperature_c: float
    resolution_bits: int = 12

    def __post_init__(self) -> None:
        if not ROM_ID.match(self.rom_id):
            raise ValueError(f"not a DS18B20 slave name: {self.rom_id!r}")
        if self.resolution_bits not in CONFIG_BY_RESOLUTION:
            raise ValueError(f"resolution must be 9..12 bits, not {self.resolution_bits}")

    @property
    def conversion_s(self) -> float:
        """tCONV max for the configured resolution (the kernel waits this long on each read)."""
        return CONVERSION_MAX_S[self.resolution_bits]

    def convert_and_read(self) -> bytes:
        """Convert T, then Read Scratchpad: the 9 bytes w1_therm receives."""
        return scratchpad(temperature_raw(self.temperature_c, self.resolution_bits), self.resolution_bits)
