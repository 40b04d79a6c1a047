"""Modbus register maps as data, and pure decoders from 16-bit register words to values."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from drivers.errors import OutOfRangeError
from drivers.reading import UNITS, Reading, reading

FUNCTIONS: tuple[str, ...] = ("input", "holding")
WORD_ORDERS: tuple[str, ...] = ("big", "little")

#: Registers taken by each data type.
DATA_TYPE_WORDS: dict[str, int] = {
    "uint16": 1,
    "int16": 1,
    "uint32": 2,
    "int32": 2,
    "float32": 2,
}

#: How a reading name must end for each quantity (the unit written in the name).
NAME_SUFFIXES: dict[str, tuple[str, ...]] = {
    "illuminance": ("_lx",),
    "temperature": ("_c",),
    "relative_humidity": ("_pct",),
    "volume": ("_l",),
    "flow_rate": ("_lph",),
    "pulse_count": ("_count",),
    "voltage": ("_v",),
    "current": ("_a",),
    "active_power": ("_w",),
    "apparent_power": ("_va",),
    "reactive_power": ("_var",),
    "power_factor": ("power_factor",),
    "frequency": ("_hz",),
    "active_energy": ("_kwh",),
    "reactive_energy": ("_kvarh",),
    "pressure": ("_hpa",),
    "count": ("_count",),
}

#: struct format of each data type, its registers taken high word first, each word big-endian.
STRUCT_FORMATS: dict[str, str] = {
    "uint16": ">H",
    "int16": ">h",
    "uint32": ">I",
    "int32": ">i",
    "float32": ">f",
}

#: Modbus protocol limit for one read of input/holding registers (function codes 3 and 4).
MAX_REGISTERS_PER_READ = 125


@dataclass(frozen=True, slots=True)
class RegisterSpec:
    """Where one reading lives in a Modbus device and how its words become a value."""

    name: str
    address: int
    quantity: str
    function: str = "input"
    data_type: str = "float32"
    word_order: str = "big"
    scale: float = 1.0
    min_value: float | None = None
    max_value: float | None = None

    def __post_init__(self) -> None:
        if self.quantity not in UNITS:
            raise ValueError(f"register {self.name!r}: unknown quantity {self.quantity!r}")
        suffixes = NAME_SUFFIXES.get(self.quantity, ())
        if suffixes and not self.name.endswith(suffixes):
            raise ValueError(
                f"register {self.name!r}: a {self.quantity} name must end with one of {suffixes}"
            )
        if self.function not in FUNCTIONS:
            raise ValueError(f"register {self.name!r}: function must be one of {FUNCTIONS}")
        if self.data_type not in DATA_TYPE_WORDS:
            raise ValueError(
                f"register {self.name!r}: data_type must be one of {tuple(DATA_TYPE_WORDS)}"
            )
        if self.word_order not in WORD_ORDERS:
            raise ValueError(f"register {self.name!r}: word_order must be one of {WORD_ORDERS}")
        if not 0 <= self.address <= 0xFFFF - self.word_count + 1:
            raise ValueError(f"register {self.name!r}: address {self.address} outside 0..65535")
        if not math.isfinite(self.scale) or self.scale == 0:
            raise ValueError(f"register {self.name!r}: scale must be a finite non-zero number")
        if (
            self.min_value is not None
            and self.max_value is not None
            and self.min_value > self.max_value
        ):
            raise ValueError(f"register {self.name!r}: min_value is above max_value")

    @property
    def word_count(self) -> int:
        """Number of 16-bit registers this value takes."""
        return DATA_TYPE_WORDS[self.data_type]

    @property
    def end_address(self) -> int:
        """First address after this value."""
        return self.address + self.word_count


@dataclass(frozen=True, slots=True)
class ReadBlock:
    """One read request covering several register specs."""

    function: str
    address: int
    count: int
    specs: tuple[RegisterSpec, ...]


def _check_word(word: int) -> None:
    if not 0 <= word <= 0xFFFF:
        raise ValueError(f"register word {word!r} is not a 16-bit value")


def words_to_uint32(words: Sequence[int], word_order: str = "big") -> int:
    """Join two registers into an unsigned 32-bit integer (big: high word first)."""
    if len(words) != 2:
        raise ValueError("a 32-bit value takes exactly two registers")
    for word in words:
        _check_word(word)
    high, low = (words[0], words[1]) if word_order == "big" else (words[1], words[0])
    return (high << 16) | low


def decode_uint16(word: int) -> int:
    """One register as an unsigned integer."""
    _check_word(word)
    return word


def decode_int16(word: int) -> int:
    """One register as a two's-complement signed integer."""
    _check_word(word)
    return word - 0x10000 if word & 0x8000 else word


def decode_uint32(words: Sequence[int], word_order: str = "big") -> int:
    """Two registers as an unsigned 32-bit integer."""
    return words_to_uint32(words, word_order)


def decode_int32(words: Sequence[int], word_order: str = "big") -> int:
    """Two registers as a two's-complement signed 32-bit integer."""
    value = words_to_uint32(words, word_order)
    return value - 0x1_0000_0000 if value & 0x8000_0000 else value


def decode_float32(words: Sequence[int], word_order: str = "big") -> float:
    """Two registers as an IEEE 754 single-precision float (bytes big-endian in each word)."""
    return float(struct.unpack(">f", words_to_uint32(words, word_order).to_bytes(4, "big"))[0])


def encode_float32(value: float, word_order: str = "big") -> tuple[int, int]:
    """An IEEE 754 single-precision float as two registers (inverse of decode_float32)."""
    raw = int.from_bytes(struct.pack(">f", value), "big")
    high, low = raw >> 16, raw & 0xFFFF
    return (high, low) if word_order == "big" else (low, high)


def decode_words(words: Sequence[int], data_type: str, word_order: str = "big") -> float:
    """Registers of one value decoded according to its data type."""
    expected = DATA_TYPE_WORDS.get(data_type)
    if expected is None:
        raise ValueError(f"unknown data type {data_type!r}")
    if len(words) != expected:
        raise ValueError(f"{data_type} takes {expected} registers, got {len(words)}")
    if data_type == "uint16":
        return decode_uint16(words[0])
    if data_type == "int16":
        return decode_int16(words[0])
    if data_type == "uint32":
        return decode_uint32(words, word_order)
    if data_type == "int32":
        return decode_int32(words, word_order)
    return decode_float32(words, word_order)


def decode_spec(spec: RegisterSpec, words: Sequence[int]) -> float:
    """The scaled value of one spec from its own registers (no range check)."""
    return float(decode_words(words, spec.data_type, spec.word_order)) * spec.scale


def out_of_range_reason(spec: RegisterSpec, value: float) -> str | None:
    """Why a decoded value cannot be trusted, or None when it is plausible."""
    if not math.isfinite(value):
        return f"{spec.name} is {value} (not a number), the meter reports a fault"
    if spec.min_value is not None and value < spec.min_value:
        return f"{spec.name} = {value:g} is below the plausible minimum {spec.min_value:g}"
    if spec.max_value is not None and value > spec.max_value:
        return f"{spec.name} = {value:g} is above the plausible maximum {spec.max_value:g}"
    return None


def plan_reads(
    specs: Sequence[RegisterSpec],
    *,
    max_registers: int = MAX_REGISTERS_PER_READ,
    read_across_gaps: bool = False,
) -> tuple[ReadBlock, ...]:
    """Group specs into as few read requests as allowed (per function, sorted by address)."""
    if not 1 <= max_registers <= MAX_REGISTERS_PER_READ:
        raise ValueError(f"max_registers must be within 1..{MAX_REGISTERS_PER_READ}")
    blocks: list[ReadBlock] = []
    for function in FUNCTIONS:
        current: list[RegisterSpec] = []
        for spec in sorted((s for s in specs if s.function == function), key=lambda s: s.address):
            if spec.word_count > max_registers:
                raise ValueError(f"register {spec.name!r} does not fit in one read")
            if current:
                start = current[0].address
                end = max(s.end_address for s in current)
                contiguous = spec.address <= end
                fits = spec.end_address - start <= max_registers
                if fits and (contiguous or read_across_gaps):
                    current.append(spec)
                    continue
                blocks.append(_block(function, current))
            current = [spec]
        if current:
            blocks.append(_block(function, current))
    return tuple(blocks)


def _block(function: str, specs: list[RegisterSpec]) -> ReadBlock:
    start = specs[0].address
    end = max(s.end_address for s in specs)
    return ReadBlock(function=function, address=start, count=end - start, specs=tuple(specs))


def check_register_map(specs: Sequence[RegisterSpec]) -> None:
    """Raise ValueError if names repeat or two values of the same function overlap."""
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"register names used twice: {', '.join(duplicates)}")
    for function in FUNCTIONS:
        ordered = sorted((s for s in specs if s.function == function), key=lambda s: s.address)
        for before, after in pairwise(ordered):
            if after.address < before.end_address:
                raise ValueError(
                    f"registers {before.name!r} and {after.name!r} overlap at {after.address:#06x}"
                )


def _decode_packed(spec: RegisterSpec, packed: bytes, offset: int) -> float:
    """decode_spec on the block's words packed big-endian, the spec's words starting at word `offset`."""
    start = 2 * offset
    if spec.word_order == "little" and spec.word_count == 2:
        value = struct.unpack(STRUCT_FORMATS[spec.data_type], packed[start + 2 : start + 4] + packed[start : start + 2])
    else:
        value = struct.unpack_from(STRUCT_FORMATS[spec.data_type], packed, start)
    return float(value[0]) * spec.scale


def decode_block(
    block: ReadBlock, words: Sequence[int], *, part: str, bus: str, address: str
) -> tuple[Reading, ...]:
    """Readings of every spec in a block from the words read; OutOfRangeError if implausible."""
    if len(words) != block.count:
        raise ValueError(f"block at {block.address:#06x} needs {block.count} words, got {len(words)}")
    try:
        packed: bytes | None = struct.pack(f">{len(words)}H", *words)
    except struct.error:
        packed = None  # not all 16-bit words: decode_spec says which one
    result: list[Reading] = []
    for spec in block.specs:
        offset = spec.address - block.address
        if packed is None:
            value = decode_spec(spec, words[offset : offset + spec.word_count])
        else:
            value = _decode_packed(spec, packed, offset)
        reason = out_of_range_reason(spec, value)
        if reason is not None:
            raise OutOfRangeError(reason, part=part, bus=bus, address=address)
        result.append(reading(spec.name, spec.quantity, value))
    return tuple(result)
