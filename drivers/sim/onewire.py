"""A simulated Linux w1 sysfs tree with DS18B20 slaves, written as w1_therm formats it.

The DS18B20 facts are written from the datasheet, independently of drivers/ds18b20.py and
drivers/onewire.py, so that a wrong value in a driver makes it disagree with this twin: Maxim
DS18B20 datasheet 19-7487 Rev 6 (Table 1 temperature/data relationship, Table 2 resolution
configuration, Figure 7 memory map, "CRC Generation") and Maxim application note 27 for the CRC-8.
The file format is the kernel's (drivers/w1/slaves/w1_therm.c): t= in millidegrees, truncated.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

MASTER = "w1_bus_master1"
FAULTS = (None, "bad_crc", "power_on", "disconnected")
FAMILY_CODE = 0x28  # DS18B20 family code, first byte of the 64-bit ROM code
ROM_ID = re.compile(r"^([0-9a-f]{2})-[0-9a-f]{12}$")  # kernel slave name: family-serial
DEGREES_C_PER_LSB = 1 / 16  # Table 1: 12-bit two's complement, bit 0 is 2^-4 °C
#: Configuration register 0 R1 R0 1 1 1 1 1 for each resolution (Table 2).
CONFIG_BY_RESOLUTION: Mapping[int, int] = MappingProxyType({9: 0x1F, 10: 0x3F, 11: 0x5F, 12: 0x7F})
TH_DEFAULT = 0x4B
TL_DEFAULT = 0x46
RESERVED_BYTE_5 = 0xFF  # Figure 7: byte 5 reserved (FFh)
RESERVED_BYTE_7 = 0x10  # Figure 7: byte 7 reserved (10h)
CRC8_POLY_REFLECTED = 0x8C  # X^8 + X^5 + X^4 + 1, shifted out LSB first ("CRC Generation")
POWER_ON_SCRATCHPAD = bytes.fromhex("5005 4b46 7fff 0c10 1c")
"""Scratchpad of a DS18B20 that reset and has not converted yet (+85 °C = 0550h, Figure 7)."""


def crc8_maxim(data: bytes) -> int:
    """Dallas/Maxim 1-Wire CRC-8 of `data` (app note 27: ROM 02 1C B8 01 00 00 00 -> A2)."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = crc >> 1 ^ CRC8_POLY_REFLECTED if crc & 1 else crc >> 1
    return crc


def temperature_register(temperature_c: float, resolution_bits: int = 12) -> int:
    """The 16-bit temperature register for `temperature_c`, undefined low bits zero (Table 1)."""
    step_lsb = 1 << (12 - resolution_bits)
    lsbs = round(temperature_c / DEGREES_C_PER_LSB / step_lsb) * step_lsb
    if not -0x8000 <= lsbs <= 0x7FFF:
        raise ValueError(f"{temperature_c} °C does not fit the 16-bit temperature register")
    return lsbs & 0xFFFF


def kernel_t_milli_c(raw: int) -> int:
    """What w1_therm prints after t= for a temperature register: millidegrees, towards zero."""
    lsbs = raw - 0x10000 if raw & 0x8000 else raw
    milli = abs(lsbs) * 1000 // 16
    return -milli if lsbs < 0 else milli


def _check_rom_id(rom_id: str) -> None:
    match = ROM_ID.match(rom_id)
    if match is None or int(match.group(1), 16) != FAMILY_CODE:
        raise ValueError(f"a DS18B20 id looks like 28-0316a2794aff, got {rom_id!r}")


@dataclass
class _SimDS18B20:
    temperature_c: float
    resolution_bits: int
    fault: str | None = None
    plugged: bool = True
    written: tuple[bytes, bytes] | None = None
    #: The temperature register behind `written` when it was written without a fault.
    written_raw: int | None = None


def scratchpad_for(temperature_c: float, resolution_bits: int = 12) -> bytes:
    """The 9 scratchpad bytes a DS18B20 holds after converting `temperature_c`."""
    raw = temperature_register(temperature_c, resolution_bits)
    count_remain = 0x10 - (raw & 0x0F)
    config = CONFIG_BY_RESOLUTION[resolution_bits]
    body = bytes([raw & 0xFF, raw >> 8, TH_DEFAULT, TL_DEFAULT, config, RESERVED_BYTE_5, count_remain, RESERVED_BYTE_7])
    return body + bytes([crc8_maxim(body)])


def w1_slave_text(received: bytes, last_good: bytes) -> str:
    """Format a w1_slave read like w1_therm: received bytes, computed crc and verdict, then t=."""
    crc = crc8_maxim(received[:8])
    verdict = "YES" if crc == received[8] else "NO"
    shown = received if verdict == "YES" else last_good
    raw = received[0] | received[1] << 8
    first = "".join(f"{b:02x} " for b in received) + f": crc={crc:02x} {verdict}\n"
    second = "".join(f"{b:02x} " for b in shown) + f"t={kernel_t_milli_c(raw)}\n"
    return first + second


def _write_text(path: str, text: str) -> None:
    # What Path.write_text does for these ASCII files, in fewer system calls.
    data = text.encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)


class SimW1Tree:
    """Writes /sys/bus/w1/devices as the kernel does: slave dirs (symlinked), master_slaves list."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.master = self.root / MASTER
        self.master.mkdir(parents=True, exist_ok=True)
        (self.master / "w1_master_name").write_text(MASTER + "\n")
        self._devices: dict[str, _SimDS18B20] = {}
        self._last_good: dict[str, bytes] = {}
        self._write_master()

    @property
    def devices(self) -> tuple[str, ...]:
        """Ids of every simulated slave, plugged or not."""
        return tuple(self._devices)

    def add_ds18b20(self, rom_id: str, temperature_c: float, resolution_bits: int = 12) -> None:
        """Plug a DS18B20 with id `rom_id` (e.g. "28-0316a2794aff")."""
        _check_rom_id(rom_id)
        if rom_id in self._devices:
            raise ValueError(f"{rom_id} is already on the bus")
        if resolution_bits not in CONFIG_BY_RESOLUTION:
            raise ValueError(f"resolution_bits must be 9..12, got {resolution_bits}")
        temperature_register(temperature_c)
        self._devices[rom_id] = _SimDS18B20(temperature_c, resolution_bits)
        self._last_good[rom_id] = bytes(9)
        self._write_device(rom_id)
        self._write_master()

    def set_temperature(self, rom_id: str, temperature_c: float) -> None:
        """Change the temperature the sensor measures (any value its register can hold)."""
        raw = temperature_register(temperature_c)
        device = self._device(rom_id)
        device.temperature_c = temperature_c
        if device.plugged and device.written is not None:
            if device.fault is None and device.written_raw is not None:
                if device.resolution_bits != 12:
                    raw = temperature_register(temperature_c, device.resolution_bits)
                if raw == device.written_raw:
                    return  # same register, same scratchpad: the kernel would show the same files
            elif device.written[0] == self._received(rom_id):
                return
        self._write_device(rom_id)

    def set_fault(self, rom_id: str, kind: str | None) -> None:
        """None, "bad_crc" (corrupted byte), "power_on" (85 °C reset value) or "disconnected" (all 0xff)."""
        if kind not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {kind!r}")
        self._device(rom_id).fault = kind
        self._write_device(rom_id)

    def unplug(self, rom_id: str) -> None:
        """Remove the slave as the kernel does once it stops answering searches."""
        self._device(rom_id).plugged = False
        self._write_device(rom_id)
        self._write_master()

    def plug(self, rom_id: str) -> None:
        """Put an unplugged slave back on the bus."""
        self._device(rom_id).plugged = True
        self._write_device(rom_id)
        self._write_master()

    def _device(self, rom_id: str) -> _SimDS18B20:
        try:
            return self._devices[rom_id]
        except KeyError:
            raise ValueError(f"no simulated device {rom_id}") from None

    def _received(self, rom_id: str) -> bytes:
        device = self._devices[rom_id]
        if device.fault == "power_on":
            return POWER_ON_SCRATCHPAD
        if device.fault == "disconnected":
            return b"\xff" * 9
        good = scratchpad_for(device.temperature_c, device.resolution_bits)
        if device.fault == "bad_crc":
            return bytes([good[0] ^ 0x04]) + good[1:]
        return good

    def _write_device(self, rom_id: str) -> None:
        device = self._devices[rom_id]
        directory = self.master / rom_id
        link = self.root / rom_id
        device.written_raw = None
        if not device.plugged:
            device.written = None
            if link.is_symlink():
                link.unlink()
            shutil.rmtree(directory, ignore_errors=True)
            return
        fresh = device.written is None
        if fresh:
            directory.mkdir(exist_ok=True)
            if not link.is_symlink():
                link.symlink_to(Path(MASTER) / rom_id, target_is_directory=True)
            (directory / "name").write_text(rom_id + "\n")
            (directory / "resolution").write_text(f"{device.resolution_bits}\n")
        received = self._received(rom_id)
        if crc8_maxim(received[:8]) == received[8]:
            self._last_good[rom_id] = received
        raw = received[0] | received[1] << 8
        _write_text(os.path.join(directory, "w1_slave"), w1_slave_text(received, self._last_good[rom_id]))
        _write_text(os.path.join(directory, "temperature"), f"{kernel_t_milli_c(raw)}\n")
        device.written = (received, self._last_good[rom_id])
        if device.fault is None:
            device.written_raw = temperature_register(device.temperature_c, device.resolution_bits)

    def _write_master(self) -> None:
        plugged = [rom for rom, device in self._devices.items() if device.plugged]
        (self.master / "w1_master_slaves").write_text("".join(f"{rom}\n" for rom in plugged) or "not found.\n")
        (self.master / "w1_master_slave_count").write_text(f"{len(plugged)}\n")
