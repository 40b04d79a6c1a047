"""Maxim DS18B20 1-Wire thermometer, read through the kernel's w1_therm `w1_slave` file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum

from drivers.errors import BadCRCError, NoAnswerError, OutOfRangeError, SensorError
from drivers.onewire import W1Bus, check_rom_id, crc8_maxim
from drivers.reading import Reading, reading

PART = "DS18B20"
FAMILY_CODE = "28"
TEMPERATURE_MIN_C = -55.0
TEMPERATURE_MAX_C = 125.0
LSB_C = 1.0 / 16.0
POWER_ON_RAW = 0x0550
"""Temperature register after power-on reset (+85 °C), before any conversion."""
NO_SENSOR_C = -127.0
"""Marker some kernels and libraries report when the sensor did not answer."""
SCRATCHPAD_LENGTH = 9
CRC_TOLERANCE_C = 0.001
"""Kernel t= is truncated to millidegrees; anything further off is an inconsistent file."""

RESOLUTION_CONFIG: dict[int, int] = {9: 0x1F, 10: 0x3F, 11: 0x5F, 12: 0x7F}
"""Configuration register value for each resolution (datasheet, Table 2)."""
CONVERSION_TIME_S: dict[int, float] = {9: 0.09375, 10: 0.1875, 11: 0.375, 12: 0.75}
"""Maximum conversion time per resolution (datasheet, Table 2)."""


class Scratchpad(IntEnum):
    """Byte offsets in the 9-byte scratchpad (datasheet, Figure 7)."""

    TEMPERATURE_LSB = 0
    TEMPERATURE_MSB = 1
    TH_REGISTER = 2
    TL_REGISTER = 3
    CONFIGURATION = 4
    RESERVED_FF = 5
    RESERVED = 6
    RESERVED_10 = 7
    CRC = 8


@dataclass(frozen=True, slots=True)
class W1SlaveFile:
    """The parts of a w1_therm `w1_slave` file: scratchpad, kernel CRC verdict and t=."""

    scratchpad: bytes
    kernel_crc: int
    kernel_crc_ok: bool
    t_milli_c: int | None


_LINE1 = re.compile(r"^((?:[0-9a-f]{2} ){9}): crc=([0-9a-f]{2}) (YES|NO)$")
_LINE2 = re.compile(r"^(?:[0-9a-f]{2} ){9}t=(-?\d+)$")


def parse_w1_slave(text: str) -> W1SlaveFile:
    """Parse the two lines w1_therm writes, e.g. "72 01 ... 57 : crc=57 YES" / "72 01 ... 57 t=23125"."""
    lines = text.strip().splitlines()
    if not lines:
        raise ValueError("empty w1_slave file")
    first = _LINE1.match(lines[0].strip())
    if first is None:
        raise ValueError(f"unexpected w1_slave first line {lines[0]!r}")
    scratchpad = bytes.fromhex(first.group(1))
    t_milli_c = None
    if len(lines) > 1:
        second = _LINE2.match(lines[1].strip())
        if second is None:
            raise ValueError(f"unexpected w1_slave second line {lines[1]!r}")
        t_milli_c = int(second.group(1))
    return W1SlaveFile(scratchpad, int(first.group(2), 16), first.group(3) == "YES", t_milli_c)


def raw_to_temperature_c(raw: int) -> float:
    """Temperature register (16-bit two's complement, 1/16 °C per LSB) to degrees Celsius."""
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"raw temperature must be a 16-bit value, got {raw!r}")
    signed = raw - 0x10000 if raw & 0x8000 else raw
    return signed * LSB_C


def temperature_c_to_raw(temperature_c: float, resolution_bits: int = 12) -> int:
    """Degrees Celsius to the temperature register, rounded to the resolution step (undefined bits zero)."""
    if resolution_bits not in RESOLUTION_CONFIG:
        raise ValueError(f"resolution_bits must be 9..12, got {resolution_bits}")
    step = 1 << (12 - resolution_bits)
    steps = round(temperature_c * 16 / step) * step
    if not -0x8000 <= steps <= 0x7FFF:
        raise ValueError(f"{temperature_c} °C does not fit the 16-bit temperature register")
    return steps & 0xFFFF


def resolution_bits_from_config(config: int) -> int:
    """Resolution (9..12 bits) from configuration register bits R1, R0."""
    return 9 + ((config >> 5) & 0x03)


def mask_undefined_bits(raw: int, resolution_bits: int) -> int:
    """Clear the low bits the datasheet leaves undefined below 12-bit resolution."""
    if resolution_bits not in RESOLUTION_CONFIG:
        raise ValueError(f"resolution_bits must be 9..12, got {resolution_bits}")
    return raw & (0xFFFF ^ ((1 << (12 - resolution_bits)) - 1))


def kernel_t_milli_c(raw: int) -> int:
    """The t= value w1_therm prints for a raw register: millidegrees truncated towards zero."""
    signed = raw - 0x10000 if raw & 0x8000 else raw
    milli = abs(signed) * 1000 // 16
    return -milli if signed < 0 else milli


class DS18B20:
    """A DS18B20 on the kernel 1-Wire bus; `read()` gives `temperature_c`."""

    part = PART

    def __init__(self, bus: W1Bus, rom_id: str) -> None:
        if check_rom_id(rom_id) != FAMILY_CODE:
            raise ValueError(f"{rom_id} is not a DS18B20 (family {FAMILY_CODE}), check the configured id")
        self.bus = bus
        self.rom_id = rom_id

    def _error(self, kind: type[SensorError], reason: str) -> SensorError:
        return kind(reason, part=self.part, bus=self.bus.name, address=self.rom_id)

    def read(self) -> tuple[Reading, ...]:
        """Read the scratchpad via w1_slave, check both CRCs, decode and range-check."""
        text = self.bus.read_text(self.rom_id, "w1_slave", part=self.part)
        try:
            frame = parse_w1_slave(text)
        except ValueError as error:
            raise self._error(NoAnswerError, f"kernel returned no usable data ({error})") from None
        return (reading("temperature_c", "temperature", self._decode(frame)),)

    def _decode(self, frame: W1SlaveFile) -> float:
        pad = frame.scratchpad
        if pad == b"\xff" * SCRATCHPAD_LENGTH:
            raise self._error(BadCRCError, "all bytes read 0xff: sensor not answering (DQ wire open or no power)")
        if pad == b"\x00" * SCRATCHPAD_LENGTH:
            raise self._error(BadCRCError, "all bytes read 0x00: DQ shorted to ground or sensor without VDD")
        if not frame.kernel_crc_ok:
            raise self._error(
                BadCRCError,
                f"kernel CRC check failed (crc={frame.kernel_crc:02x} NO, byte 9 is {pad[Scratchpad.CRC]:02x}): "
                "noise on the cable or pull-up resistor (4.7 kΩ) missing",
            )
        computed = crc8_maxim(pad[: Scratchpad.CRC])
        if computed != pad[Scratchpad.CRC]:
            raise self._error(
                BadCRCError, f"scratchpad CRC mismatch (computed {computed:02x}, read {pad[Scratchpad.CRC]:02x})"
            )
        raw = pad[Scratchpad.TEMPERATURE_LSB] | pad[Scratchpad.TEMPERATURE_MSB] << 8
        unmasked_c = raw_to_temperature_c(raw)
        if frame.t_milli_c == NO_SENSOR_C * 1000 or unmasked_c == NO_SENSOR_C:
            raise self._error(OutOfRangeError, "-127 °C is the 'no sensor' marker: sensor not answering")
        if raw == POWER_ON_RAW:
            raise self._error(
                OutOfRangeError,
                "85.0 °C is the power-on reset value: the sensor reset before converting, check wiring/power",
            )
        if frame.t_milli_c is not None and abs(frame.t_milli_c / 1000 - unmasked_c) > CRC_TOLERANCE_C:
            raise self._error(
                BadCRCError, f"kernel t={frame.t_milli_c} disagrees with scratchpad {unmasked_c} °C"
            )
        resolution_bits = resolution_bits_from_config(pad[Scratchpad.CONFIGURATION])
        temperature_c = raw_to_temperature_c(mask_undefined_bits(raw, resolution_bits))
        if not TEMPERATURE_MIN_C <= temperature_c <= TEMPERATURE_MAX_C:
            raise self._error(
                OutOfRangeError,
                f"{temperature_c} °C is outside the DS18B20 range {TEMPERATURE_MIN_C}..{TEMPERATURE_MAX_C} °C",
            )
        return temperature_c

    def close(self) -> None:
        """Nothing to release: the kernel owns the bus."""
