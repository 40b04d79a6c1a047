"""What the tests expect, computed from the datasheets' formulas (a second, separate reading of them).

Nothing here comes from drivers/ or from the chip models: when a model and this file disagree the
tests fail, and one of the two misreads the datasheet.
"""

from __future__ import annotations

import math

from i2cdev.testbed import I2CMessage

# ROHM BH1750FVI Technical Note Rev.B: instruction set, count / 1.2 lx at MTreg 69, tHR max 180 ms
BH1750_MEASUREMENTS = {0x10: "H", 0x11: "H2", 0x13: "L", 0x20: "H", 0x21: "H2", 0x23: "L"}
BH1750_ONE_TIME = {0x20, 0x21, 0x23}
BH1750_MAX_TIME_S = {"H": 0.180, "H2": 0.180, "L": 0.024}


def bh1750_mtreg_after(opcode: int, mtreg: int) -> int:
    """MTreg after a "change measurement time" opcode (01000_MT[7:5] or 011_MT[4:0]); else unchanged."""
    if opcode >> 3 == 0b01000:
        return (opcode & 0b111) << 5 | mtreg & 0b11111
    if opcode >> 5 == 0b011:
        return mtreg & 0b11100000 | opcode & 0b11111
    return mtreg


def bh1750_last_setting(messages: list[I2CMessage]) -> tuple[str, int]:
    """(resolution, MTreg) of the last measurement opcode the chip acknowledged, MTreg from power-up 69."""
    resolution, mtreg, measured_mtreg = "H", 69, 69
    for message in messages:
        if message.ack and message.dir == "w" and message.data:
            mtreg = bh1750_mtreg_after(message.data[0], mtreg)
            if message.data[0] in BH1750_MEASUREMENTS:
                resolution, measured_mtreg = BH1750_MEASUREMENTS[message.data[0]], mtreg
    return resolution, measured_mtreg


def bh1750_counts_per_lx(resolution: str, mtreg: int) -> float:
    """1.2 counts per lx at MTreg 69, proportional to MTreg, doubled in H-resolution mode2."""
    return 1.2 * mtreg / 69 * (2 if resolution == "H2" else 1)


def bh1750_count(illuminance_lx: float, resolution: str, mtreg: int) -> int:
    """The 16-bit result for an illuminance (the chip truncates to whole counts)."""
    return min(0xFFFF, math.floor(illuminance_lx * bh1750_counts_per_lx(resolution, mtreg)))


# Vishay VEML7700 datasheet Rev. 1.7 and app note 84323
VEML_GAINS = {0b00: 1.0, 0b01: 2.0, 0b10: 0.125, 0b11: 0.25}
VEML_IT_MS = {0b1100: 25, 0b1000: 50, 0b0000: 100, 0b0001: 200, 0b0010: 400, 0b0011: 800}
VEML_WAKE_UP_S = 0.0025


def veml_setting(als_conf: int) -> tuple[float, int, bool]:
    """(gain, integration time ms, shut down) from an ALS_CONF word: bits 12:11, 9:6 and 0."""
    return VEML_GAINS[als_conf >> 11 & 0b11], VEML_IT_MS[als_conf >> 6 & 0b1111], bool(als_conf & 1)


def veml_last_setting(messages: list[I2CMessage]) -> tuple[float, int]:
    """(gain, integration time ms) of the last ALS_CONF write that left the chip running."""
    words = [int.from_bytes(w[1:], "little") for w in writes(messages) if len(w) == 3 and w[0] == 0x00]
    gain, integration_ms, _ = veml_setting([w for w in words if not w & 1][-1])
    return gain, integration_ms


def veml_lx_per_count(gain: float, integration_ms: int) -> float:
    """0.0042 lx per count at gain 2 and 800 ms, times 2/gain and 800/IT."""
    return 0.0042 * 2 / gain * 800 / integration_ms


def veml_corrected_lx(linear_lx: float) -> float:
    """App note: 6.0135e-13 x^4 - 9.3924e-9 x^3 + 8.1488e-5 x^2 + 1.0023 x."""
    x = linear_lx
    return 6.0135e-13 * x**4 - 9.3924e-9 * x**3 + 8.1488e-5 * x**2 + 1.0023 * x


def veml_counts(illuminance_lx: float, gain: float, integration_ms: int) -> int:
    """ALS counts: at gains 1/8 and 1/4 the chip sees the x whose corrected value is the true lux."""
    seen_lx = illuminance_lx
    if gain in (0.125, 0.25):
        low, high = 0.0, illuminance_lx
        while high - low > 1e-9:
            middle = (low + high) / 2
            low, high = (middle, high) if veml_corrected_lx(middle) < illuminance_lx else (low, middle)
        seen_lx = low
    return min(0xFFFF, math.floor(seen_lx / veml_lx_per_count(gain, integration_ms)))


def veml_lux(counts: int, gain: float, integration_ms: int) -> float:
    """Illuminance from counts as the app note says: corrected at gains 1/8 and 1/4 only."""
    linear_lx = counts * veml_lx_per_count(gain, integration_ms)
    return veml_corrected_lx(linear_lx) if gain in (0.125, 0.25) else linear_lx


# Sensirion SHT3x-DIS datasheet: CRC-8 0x31 init 0xFF, T = -45 + 175 S/65535, RH = 100 S/65535
SHT_MEASURE_HIGH_NO_STRETCH = bytes([0x24, 0x00])
SHT_SOFT_RESET = bytes([0x30, 0xA2])
SHT_CLEAR_STATUS = bytes([0x30, 0x41])
SHT_HIGH_MAX_S = 0.015
SHT_SOFT_RESET_MAX_S = 0.0015


def sht_crc(pair: bytes) -> int:
    """CRC-8 of a 2-byte word, MSB first: polynomial 0x31, init 0xFF."""
    crc = 0xFF
    for byte in pair:
        crc ^= byte
        for _ in range(8):
            crc = ((crc << 1) ^ 0x31) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def sht_temperature_code(temperature_c: float) -> int:
    """The nearest S_T for a temperature."""
    return round((temperature_c + 45) * 65535 / 175)


def sht_humidity_code(relative_humidity_pct: float) -> int:
    """The nearest S_RH for a relative humidity."""
    return round(relative_humidity_pct * 65535 / 100)


def sht_frame(temperature_c: float, relative_humidity_pct: float) -> bytes:
    """The 6 bytes of a measurement: T msb, lsb, crc, RH msb, lsb, crc."""
    frame = b""
    for code in (sht_temperature_code(temperature_c), sht_humidity_code(relative_humidity_pct)):
        pair = code.to_bytes(2, "big")
        frame += pair + bytes([sht_crc(pair)])
    return frame


# Maxim DS18B20: 1/16 °C per LSB; below 12 bits the low bits are undefined and ignored
def ds18b20_temperature_c(temperature_c: float, resolution_bits: int) -> float:
    """The reading at a resolution: nearest 1/16 °C code, undefined low bits cleared."""
    code = round(temperature_c * 16)
    return (code & ~((1 << (12 - resolution_bits)) - 1)) / 16


def writes(messages: list[I2CMessage]) -> list[bytes]:
    """The acknowledged write payloads, in order."""
    return [m.data for m in messages if m.ack and m.dir == "w"]
