"""The Linux i2c-dev user ABI (include/uapi/linux/i2c-dev.h, i2c.h) and the kernel's SMBus emulation.

Struct layouts use the native ABI (`@`), so they hold on a 64-bit PC and on a 32-bit Pi alike.
"""

from __future__ import annotations

import errno
import struct
from dataclasses import dataclass

# ioctl request numbers, include/uapi/linux/i2c-dev.h (they are not _IOC-encoded)
I2C_RETRIES = 0x0701
I2C_TIMEOUT = 0x0702
I2C_SLAVE = 0x0703
I2C_TENBIT = 0x0704
I2C_FUNCS = 0x0705
I2C_SLAVE_FORCE = 0x0706
I2C_RDWR = 0x0707
I2C_PEC = 0x0708
I2C_SMBUS = 0x0720
IOCTL_NAMES = {
    I2C_RETRIES: "I2C_RETRIES", I2C_TIMEOUT: "I2C_TIMEOUT", I2C_SLAVE: "I2C_SLAVE", I2C_TENBIT: "I2C_TENBIT",
    I2C_FUNCS: "I2C_FUNCS", I2C_SLAVE_FORCE: "I2C_SLAVE_FORCE", I2C_RDWR: "I2C_RDWR", I2C_PEC: "I2C_PEC",
    I2C_SMBUS: "I2C_SMBUS",
}

I2C_RDWR_IOCTL_MAX_MSGS = 42
I2C_MSG_MAX_LEN = 8192  # i2c-dev refuses longer messages with EINVAL

# struct i2c_msg flags, include/uapi/linux/i2c.h
I2C_M_RD = 0x0001
I2C_M_TEN = 0x0010
I2C_M_RECV_LEN = 0x0400

# functionality bits, include/uapi/linux/i2c.h
I2C_FUNC_I2C = 0x00000001
I2C_FUNC_SMBUS_EMUL = 0x0EFF0008  # quick, byte, byte data, word data, proc call, write block, I2C block, PEC
ADAPTER_FUNCS = I2C_FUNC_I2C | I2C_FUNC_SMBUS_EMUL  # what i2c-bcm2835 (the Pi's adapter) reports

# struct i2c_smbus_ioctl_data fields
I2C_SMBUS_WRITE = 0
I2C_SMBUS_READ = 1
I2C_SMBUS_QUICK = 0
I2C_SMBUS_BYTE = 1
I2C_SMBUS_BYTE_DATA = 2
I2C_SMBUS_WORD_DATA = 3
I2C_SMBUS_PROC_CALL = 4
I2C_SMBUS_BLOCK_DATA = 5
I2C_SMBUS_I2C_BLOCK_BROKEN = 6
I2C_SMBUS_BLOCK_PROC_CALL = 7
I2C_SMBUS_I2C_BLOCK_DATA = 8
I2C_SMBUS_BLOCK_MAX = 32
SMBUS_SIZE_NAMES = {
    I2C_SMBUS_QUICK: "QUICK", I2C_SMBUS_BYTE: "BYTE", I2C_SMBUS_BYTE_DATA: "BYTE_DATA",
    I2C_SMBUS_WORD_DATA: "WORD_DATA", I2C_SMBUS_PROC_CALL: "PROC_CALL", I2C_SMBUS_BLOCK_DATA: "BLOCK_DATA",
    I2C_SMBUS_I2C_BLOCK_BROKEN: "I2C_BLOCK_BROKEN", I2C_SMBUS_BLOCK_PROC_CALL: "BLOCK_PROC_CALL",
    I2C_SMBUS_I2C_BLOCK_DATA: "I2C_BLOCK_DATA",
}

# struct i2c_rdwr_ioctl_data { struct i2c_msg *msgs; __u32 nmsgs; };
RDWR_DATA = struct.Struct("@PI")
# struct i2c_msg { __u16 addr; __u16 flags; __u16 len; __u8 *buf; };
I2C_MSG = struct.Struct("@HHHP")
I2C_MSG_BUF_OFFSET = struct.calcsize("@HHH0P")
# struct i2c_smbus_ioctl_data { __u8 read_write; __u8 command; __u32 size; union i2c_smbus_data *data; };
SMBUS_IOCTL_DATA = struct.Struct("@BBIP")
SMBUS_DATA_PTR_OFFSET = struct.calcsize("@BBI0P")
# union i2c_smbus_data { __u8 byte; __u16 word; __u8 block[I2C_SMBUS_BLOCK_MAX + 2]; };
SMBUS_DATA_SIZE = I2C_SMBUS_BLOCK_MAX + 2
UNSIGNED_LONG = struct.Struct("@L")  # I2C_FUNCS writes an unsigned long


class AbiError(ValueError):
    """An argument i2c-dev would refuse; carries the errno the kernel returns."""

    def __init__(self, errno_value: int, reason: str) -> None:
        super().__init__(reason)
        self.errno = errno_value


@dataclass
class Message:
    """One I2C message: a START (or repeated START), the address byte, then data in one direction."""

    addr: int
    read: bool
    length: int
    data: bytes = b""  # what a write sends, what a read received


@dataclass(frozen=True)
class SmbusRequest:
    """The decoded struct i2c_smbus_ioctl_data and the union it points to (34 bytes, or empty)."""

    read_write: int
    command: int
    size: int
    union: bytes

    @property
    def name(self) -> str:
        """E.g. "WORD_DATA read"."""
        direction = "read" if self.read_write == I2C_SMBUS_READ else "write"
        return f"{SMBUS_SIZE_NAMES.get(self.size, str(self.size))} {direction}"


def smbus_messages(addr: int, request: SmbusRequest) -> list[Message]:
    """The I2C messages the kernel's i2c_smbus_xfer_emulated() sends for an SMBus request."""
    read = request.read_write == I2C_SMBUS_READ
    command, size, union = request.command, request.size, request.union
    if size == I2C_SMBUS_QUICK:
        return [Message(addr, read, 0)]
    if size == I2C_SMBUS_BYTE:
        return [Message(addr, True, 1)] if read else [Message(addr, False, 1, bytes([command]))]
    if size == I2C_SMBUS_BYTE_DATA:
        if read:
            return [Message(addr, False, 1, bytes([command])), Message(addr, True, 1)]
        return [Message(addr, False, 2, bytes([command, union[0]]))]
    if size == I2C_SMBUS_WORD_DATA:
        if read:
            return [Message(addr, False, 1, bytes([command])), Message(addr, True, 2)]
        return [Message(addr, False, 3, bytes([command, union[0], union[1]]))]
    if size == I2C_SMBUS_PROC_CALL:
        return [Message(addr, False, 3, bytes([command, union[0], union[1]])), Message(addr, True, 2)]
    if size == I2C_SMBUS_I2C_BLOCK_DATA:
        count = union[0]
        if not 1 <= count <= I2C_SMBUS_BLOCK_MAX:
            raise AbiError(errno.EINVAL, f"I2C block length {count} outside 1..{I2C_SMBUS_BLOCK_MAX}")
        if read:
            return [Message(addr, False, 1, bytes([command])), Message(addr, True, count)]
        return [Message(addr, False, 1 + count, bytes([command]) + union[1:1 + count])]
    if size == I2C_SMBUS_BLOCK_DATA and not read:
        count = union[0]
        if not 1 <= count <= I2C_SMBUS_BLOCK_MAX:
            raise AbiError(errno.EINVAL, f"block length {count} outside 1..{I2C_SMBUS_BLOCK_MAX}")
        return [Message(addr, False, 2 + count, bytes([command]) + union[:1 + count])]
    # SMBus block reads need I2C_M_RECV_LEN, which i2c-bcm2835 does not offer
    raise AbiError(errno.EOPNOTSUPP, f"SMBus {request.name} is not supported by this adapter")


def smbus_reply(request: SmbusRequest, messages: list[Message]) -> bytes | None:
    """The union i2c_smbus_data the kernel copies back to user space after a read, else None."""
    if request.read_write != I2C_SMBUS_READ or request.size == I2C_SMBUS_QUICK:
        return None
    received = messages[-1].data
    union = bytearray(SMBUS_DATA_SIZE)
    if request.size == I2C_SMBUS_I2C_BLOCK_DATA:
        union[0] = len(received)
        union[1:1 + len(received)] = received
    else:
        union[:len(received)] = received  # byte: data[0]; word: data[0] | data[1] << 8 (little-endian)
    return bytes(union)


def smbus_needs_union(request: SmbusRequest) -> bool:
    """Whether i2c-dev copies the union at all (EINVAL when it is NULL but needed)."""
    if request.size == I2C_SMBUS_QUICK:
        return False
    return not (request.size == I2C_SMBUS_BYTE and request.read_write == I2C_SMBUS_WRITE)
