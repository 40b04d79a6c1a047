"""I2C bus helpers shared by the chip drivers: bus protocol, error mapping, address scan."""

from __future__ import annotations

import errno
from typing import Any, Protocol

from drivers.errors import NoAnswerError, NotPluggedError, SensorError

SCAN_FIRST_ADDRESS = 0x08
SCAN_LAST_ADDRESS = 0x77
# errnos Linux I2C adapters return when nobody acknowledges the address
NOT_PLUGGED_ERRNOS = frozenset({errno.EREMOTEIO, errno.ENXIO, errno.EIO})


class I2CBus(Protocol):
    """The part of smbus2.SMBus the drivers use (SimI2CBus provides the same)."""

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        """Address-only write."""

    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None:
        """Write one byte."""

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        """Read a little-endian word from a register."""

    def write_word_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        """Write a little-endian word to a register."""

    def i2c_rdwr(self, *i2c_msgs: Any) -> None:
        """Run raw I2C messages."""


def format_address(address: int) -> str:
    """Address as technicians write it, e.g. "0x23"."""
    return f"0x{address:02x}"


def bus_error(exc: OSError, *, part: str, bus_name: str, address: int) -> SensorError:
    """Translate an OSError from the bus into the SensorError a technician can act on."""
    where = {"part": part, "bus": bus_name, "address": format_address(address)}
    if exc.errno in NOT_PLUGGED_ERRNOS:
        return NotPluggedError(
            f"no acknowledge at this address ({exc.strerror or exc}): "
            "check the wiring, the 3.3 V supply and the address pin",
            **where,
        )
    return NoAnswerError(f"I2C transfer failed: {exc}", **where)


def check_driver_args(address: int, allowed: tuple[int, ...], bus_name: str, sleep: object) -> None:
    """Validate the constructor arguments every I2C driver shares (raises ValueError)."""
    if address not in allowed:
        choices = ", ".join(format_address(a) for a in allowed)
        raise ValueError(f"address must be one of {choices}, not {address!r}")
    if not isinstance(bus_name, str) or not bus_name:
        raise ValueError("bus_name must be a non-empty string such as 'i2c-1'")
    if not callable(sleep):
        raise ValueError("sleep must be a callable taking seconds")


def scan_i2c(bus: I2CBus) -> list[int]:
    """Addresses 0x08..0x77 that acknowledge a quick write (or are kernel-bound), ascending."""
    found = []
    for address in range(SCAN_FIRST_ADDRESS, SCAN_LAST_ADDRESS + 1):
        try:
            bus.write_quick(address)
        except OSError as exc:
            if exc.errno != errno.EBUSY:  # EBUSY: bound to a kernel driver, so present
                continue
        found.append(address)
    return found
