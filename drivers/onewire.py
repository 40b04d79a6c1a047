"""The Linux 1-Wire bus as the w1 kernel drivers expose it in sysfs."""

from __future__ import annotations

import os
import re
from pathlib import Path

from drivers.errors import NoAnswerError, NotPluggedError

SYSFS_W1_DEVICES = Path("/sys/bus/w1/devices")
"""Where the kernel exposes 1-Wire slaves on a Raspberry Pi (dtoverlay=w1-gpio)."""

ROM_ID_PATTERN = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{12})$")
"""Kernel slave directory name: family code, dash, 48-bit serial (lower-case hex)."""

CRC8_POLY_REFLECTED = 0x8C
"""Dallas/Maxim CRC-8 polynomial X^8 + X^5 + X^4 + 1, bit-reflected (LSB first)."""


def _crc8_table() -> tuple[int, ...]:
    table = []
    for value in range(256):
        crc = value
        for _ in range(8):
            crc = (crc >> 1) ^ CRC8_POLY_REFLECTED if crc & 0x01 else crc >> 1
        table.append(crc)
    return tuple(table)


CRC8_TABLE: tuple[int, ...] = _crc8_table()


def crc8_maxim(data: bytes) -> int:
    """Dallas/Maxim 1-Wire CRC-8 (as in ROM codes and DS18B20 scratchpads); 0 over data+crc."""
    crc = 0
    for byte in data:
        crc = CRC8_TABLE[crc ^ byte]
    return crc


def check_rom_id(rom_id: str) -> str:
    """Validate a kernel slave name such as "28-0316a2794aff" and return its family code."""
    match = ROM_ID_PATTERN.match(rom_id)
    if match is None:
        raise ValueError(f"1-Wire id must look like 28-0316a2794aff (family-serial in lower-case hex), got {rom_id!r}")
    return match.group(1)


def _read_ascii(path: str) -> str:
    """The file's text as open(path, encoding="ascii").read() gives it, in fewer system calls."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    text = b"".join(chunks).decode("ascii")
    # Universal newlines, as in text mode.
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


class W1Bus:
    """The w1 sysfs tree under `root` (on a Pi: /sys/bus/w1/devices)."""

    def __init__(self, root: Path, *, name: str = "w1") -> None:
        if not name:
            raise ValueError("bus name must not be empty")
        self.root = Path(root)
        self.name = name

    def list_devices(self, family: str | None = None) -> list[str]:
        """Slave ids present on the bus, sorted, optionally only one family (e.g. "28")."""
        if family is not None and not re.fullmatch(r"[0-9a-f]{2}", family):
            raise ValueError(f"family must be two lower-case hex digits such as '28', got {family!r}")
        try:
            names = [entry.name for entry in self.root.iterdir()]
        except FileNotFoundError:
            return []
        found = [n for n in names if ROM_ID_PATTERN.match(n) and (self.root / n).is_dir()]
        if family is not None:
            found = [n for n in found if n.startswith(family + "-")]
        return sorted(found)

    def has_device(self, rom_id: str) -> bool:
        """True if the kernel currently lists the slave."""
        check_rom_id(rom_id)
        return (self.root / rom_id).is_dir()

    def read_text(self, rom_id: str, filename: str, *, part: str) -> str:
        """Read one attribute file of a slave (blocks while the kernel talks to the chip)."""
        check_rom_id(rom_id)
        path = os.path.join(self.root, rom_id, filename)
        try:
            return _read_ascii(path)
        except FileNotFoundError:
            raise NotPluggedError(
                f"no {rom_id} in {self.root}: sensor unplugged, DQ wire cut, or w1-gpio overlay not loaded",
                part=part,
                bus=self.name,
                address=rom_id,
            ) from None
        except (OSError, UnicodeDecodeError) as error:
            raise NoAnswerError(
                f"reading {Path(path).name} failed ({error}): sensor not answering, check power and DQ wiring",
                part=part,
                bus=self.name,
                address=rom_id,
            ) from error
