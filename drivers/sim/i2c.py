"""A simulated Linux I2C bus with the smbus2.SMBus interface and byte-level chips."""

from __future__ import annotations

import ctypes
import errno
import threading
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType, TracebackType
from typing import Any

I2C_M_RD = 0x0001  # read flag of struct i2c_msg (linux/i2c.h)
I2C_SMBUS_BLOCK_MAX = 32  # longest SMBus / I2C block transfer smbus2 allows
ADDRESS_MAX = 0x7F  # 7-bit addressing only, like the Pi's i2c-bcm2835


def nack() -> OSError:
    """The error Linux raises when a chip does not acknowledge (i2c-bcm2835: -EREMOTEIO)."""
    return OSError(errno.EREMOTEIO, "Remote I/O error")


class SimI2CChip:
    """Base of simulated chips: raw I2C write and read transactions, one at a time."""

    def write(self, data: bytes) -> None:
        """Receive the bytes of one write transaction (empty: address-only probe)."""
        raise NotImplementedError

    def read(self, length: int) -> bytes:
        """Answer one read transaction of `length` bytes; raise nack() to refuse it."""
        raise NotImplementedError

    def power_on_reset(self) -> None:
        """Return to the power-up state (called when the chip is plugged on a bus)."""


class SimI2CBus:
    """smbus2.SMBus look-alike whose addresses are served by attached simulated chips."""

    def __init__(self, bus_number: int) -> None:
        if not isinstance(bus_number, int) or isinstance(bus_number, bool) or bus_number < 0:
            raise ValueError(f"bus_number must be a non-negative int, not {bus_number!r}")
        self.bus_number = bus_number
        self._chips: dict[int, SimI2CChip] = {}
        self._lock = threading.RLock()
        self._open = True

    @property
    def chips(self) -> Mapping[int, SimI2CChip]:
        """Read-only view of the attached chips by address."""
        return MappingProxyType(self._chips)

    def attach(self, address: int, chip: SimI2CChip) -> None:
        """Plug `chip` at `address`; the chip starts from its power-on state."""
        _check_address_arg(address)
        if not isinstance(chip, SimI2CChip):
            raise ValueError(f"chip must be a SimI2CChip, not {type(chip).__name__}")
        with self._lock:
            if address in self._chips:
                raise ValueError(f"address 0x{address:02x} is already taken on i2c-{self.bus_number}")
            chip.power_on_reset()
            self._chips[address] = chip

    def detach(self, address: int) -> SimI2CChip:
        """Unplug the chip at `address` and return it."""
        with self._lock:
            if address not in self._chips:
                raise ValueError(f"no chip at 0x{address:02x} on i2c-{self.bus_number}")
            return self._chips.pop(address)

    # smbus2.SMBus interface -------------------------------------------------------

    def open(self, bus: int) -> None:
        """Reopen the bus (smbus2 compatibility)."""
        self.bus_number = bus
        self._open = True

    def close(self) -> None:
        """Close the bus; later transfers fail with EBADF."""
        self._open = False

    def __enter__(self) -> SimI2CBus:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def write_quick(self, i2c_addr: int, force: bool | None = None) -> None:
        """Address-only write: succeeds if a chip acknowledges the address."""
        self._write(i2c_addr, b"")

    def read_byte(self, i2c_addr: int, force: bool | None = None) -> int:
        """Read one byte without a register."""
        return self._read(i2c_addr, 1)[0]

    def write_byte(self, i2c_addr: int, value: int, force: bool | None = None) -> None:
        """Write one byte without a register."""
        self._write(i2c_addr, _bytes([value]))

    def read_byte_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        """Write a register byte, then read one byte."""
        return self._transfer(i2c_addr, _bytes([register]), 1)[0]

    def write_byte_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        """Write a register byte followed by one data byte."""
        self._write(i2c_addr, _bytes([register, value]))

    def read_word_data(self, i2c_addr: int, register: int, force: bool | None = None) -> int:
        """Write a register byte, then read a little-endian word (SMBus order)."""
        data = self._transfer(i2c_addr, _bytes([register]), 2)
        return data[0] | data[1] << 8

    def write_word_data(self, i2c_addr: int, register: int, value: int, force: bool | None = None) -> None:
        """Write a register byte followed by a little-endian word."""
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"word value out of range: {value!r}")
        self._write(i2c_addr, _bytes([register, value & 0xFF, value >> 8]))

    def read_i2c_block_data(
        self, i2c_addr: int, register: int, length: int, force: bool | None = None
    ) -> list[int]:
        """Write a register byte, then read `length` (<= 32) bytes."""
        if not 0 <= length <= I2C_SMBUS_BLOCK_MAX:
            raise ValueError(f"Desired block length over {I2C_SMBUS_BLOCK_MAX} bytes")
        return list(self._transfer(i2c_addr, _bytes([register]), length))

    def write_i2c_block_data(
        self, i2c_addr: int, register: int, data: Sequence[int], force: bool | None = None
    ) -> None:
        """Write a register byte followed by up to 32 data bytes."""
        if len(data) > I2C_SMBUS_BLOCK_MAX:
            raise ValueError(f"Data length cannot exceed {I2C_SMBUS_BLOCK_MAX} bytes")
        self._write(i2c_addr, _bytes([register, *data]))

    def i2c_rdwr(self, *i2c_msgs: Any) -> None:
        """Run smbus2.i2c_msg messages in order, filling the buffers of read messages."""
        with self._lock:
            for msg in i2c_msgs:
                length = msg.len
                if msg.flags & I2C_M_RD:
                    ctypes.memmove(msg.buf, self._read(msg.addr, length), length)
                else:
                    self._chip(msg.addr).write(ctypes.string_at(msg.buf, length))

    # raw transactions ---------------------------------------------------------------

    def _chip(self, address: int) -> SimI2CChip:
        if not self._open:
            raise OSError(errno.EBADF, "Bad file descriptor")
        if not isinstance(address, int) or not 0 <= address <= ADDRESS_MAX:
            raise OSError(errno.EINVAL, "Invalid argument")
        chip = self._chips.get(address)
        if chip is None:
            raise nack()
        return chip

    def _write(self, address: int, data: bytes) -> None:
        with self._lock:
            self._chip(address).write(data)

    def _read(self, address: int, length: int) -> bytes:
        with self._lock:
            data = bytes(self._chip(address).read(length))
        if len(data) != length:
            raise AssertionError(f"simulated chip answered {len(data)} bytes instead of {length}")
        return data

    def _transfer(self, address: int, data: bytes, length: int) -> bytes:
        with self._lock:
            self._write(address, data)
            return self._read(address, length)


def _bytes(values: Iterable[int]) -> bytes:
    checked = list(values)
    for value in checked:
        if not isinstance(value, int) or not 0 <= value <= 0xFF:
            raise ValueError(f"byte value out of range: {value!r}")
    return bytes(checked)


def _check_address_arg(address: int) -> None:
    if not isinstance(address, int) or not 0x03 <= address <= 0x77:
        raise ValueError(f"I2C address must be an int in 0x03..0x77, not {address!r}")
