"""Semantics of the simulated I2C bus: Linux errnos, smbus2 calls, raw i2c_msg transfers."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest
from smbus2 import i2c_msg

from drivers.sim.i2c import SimI2CBus, SimI2CChip, nack


class RegisterChip(SimI2CChip):
    """EEPROM-like fake part: first written byte sets the pointer, reads auto-increment."""

    def __init__(self) -> None:
        self.memory = bytearray(256)
        self.pointer = 0
        self.resets = 0
        self.writes: list[bytes] = []

    def power_on_reset(self) -> None:
        self.resets += 1
        self.pointer = 0

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        if data:
            self.pointer = data[0]
            for offset, value in enumerate(data[1:]):
                self.memory[(self.pointer + offset) & 0xFF] = value

    def read(self, length: int) -> bytes:
        out = bytes(self.memory[(self.pointer + i) & 0xFF] for i in range(length))
        self.pointer = (self.pointer + length) & 0xFF
        return out


class BusyChip(SimI2CChip):
    """Fake part that refuses every transfer, like a chip busy converting."""

    def write(self, data: bytes) -> None:
        raise nack()

    def read(self, length: int) -> bytes:
        raise nack()


ABSENT_CALLS: dict[str, Callable[[SimI2CBus], object]] = {
    "write_quick": lambda bus: bus.write_quick(0x50),
    "read_byte": lambda bus: bus.read_byte(0x50),
    "write_byte": lambda bus: bus.write_byte(0x50, 1),
    "read_byte_data": lambda bus: bus.read_byte_data(0x50, 1),
    "write_byte_data": lambda bus: bus.write_byte_data(0x50, 1, 2),
    "read_word_data": lambda bus: bus.read_word_data(0x50, 1),
    "write_word_data": lambda bus: bus.write_word_data(0x50, 1, 0x1234),
    "read_i2c_block_data": lambda bus: bus.read_i2c_block_data(0x50, 0, 4),
    "write_i2c_block_data": lambda bus: bus.write_i2c_block_data(0x50, 0, [1, 2]),
    "i2c_rdwr": lambda bus: bus.i2c_rdwr(i2c_msg.read(0x50, 2)),
}


@pytest.fixture
def bus() -> SimI2CBus:
    return SimI2CBus(1)


@pytest.mark.parametrize("call", sorted(ABSENT_CALLS))
def test_sim_i2c_absent_chip_raises_remote_io_error(bus: SimI2CBus, call: str) -> None:
    bus.attach(0x51, RegisterChip())
    with pytest.raises(OSError) as info:
        ABSENT_CALLS[call](bus)
    assert info.value.errno == errno.EREMOTEIO
    assert info.value.strerror == "Remote I/O error"
    assert str(info.value) == "[Errno 121] Remote I/O error"


def test_sim_i2c_byte_and_word_calls_translate_to_raw_transactions(bus: SimI2CBus) -> None:
    chip = RegisterChip()
    bus.attach(0x50, chip)
    bus.write_byte_data(0x50, 0x10, 0xAB)
    bus.write_word_data(0x50, 0x20, 0x1234)
    assert chip.writes == [b"\x10\xab", b"\x20\x34\x12"]
    assert bus.read_byte_data(0x50, 0x10) == 0xAB
    assert bus.read_word_data(0x50, 0x20) == 0x1234  # SMBus words are little-endian
    bus.write_byte(0x50, 0x21)
    assert bus.read_byte(0x50) == 0x12
    bus.write_quick(0x50)
    assert chip.writes[-1] == b""


def test_sim_i2c_block_read_and_write(bus: SimI2CBus) -> None:
    chip = RegisterChip()
    bus.attach(0x50, chip)
    bus.write_i2c_block_data(0x50, 0x40, list(range(1, 33)))
    assert bus.read_i2c_block_data(0x50, 0x40, 32) == list(range(1, 33))
    assert bus.read_i2c_block_data(0x50, 0x44, 3) == [5, 6, 7]
    with pytest.raises(ValueError):
        bus.read_i2c_block_data(0x50, 0, 33)
    with pytest.raises(ValueError):
        bus.write_i2c_block_data(0x50, 0, [0] * 33)


def test_sim_i2c_rdwr_fills_real_smbus2_read_messages(bus: SimI2CBus) -> None:
    chip = RegisterChip()
    chip.memory[0x30:0x34] = b"\xde\xad\xbe\xef"
    bus.attach(0x50, chip)
    write = i2c_msg.write(0x50, [0x30])
    read = i2c_msg.read(0x50, 4)
    bus.i2c_rdwr(write, read)
    assert bytes(read) == b"\xde\xad\xbe\xef"
    assert list(read) == [0xDE, 0xAD, 0xBE, 0xEF]
    bus.i2c_rdwr(i2c_msg.write(0x50, [0x60, 9, 8]))
    assert chip.memory[0x60:0x62] == b"\x09\x08"


def test_sim_i2c_rdwr_stops_at_first_nack(bus: SimI2CBus) -> None:
    chip = RegisterChip()
    bus.attach(0x50, chip)
    with pytest.raises(OSError) as info:
        bus.i2c_rdwr(i2c_msg.write(0x50, [1, 2]), i2c_msg.read(0x51, 1), i2c_msg.write(0x50, [3, 4]))
    assert info.value.errno == errno.EREMOTEIO
    assert chip.writes == [b"\x01\x02"]


def test_sim_i2c_chip_can_refuse_transfers(bus: SimI2CBus) -> None:
    bus.attach(0x44, BusyChip())
    with pytest.raises(OSError) as info:
        bus.read_byte(0x44)
    assert info.value.errno == errno.EREMOTEIO


def test_sim_i2c_detach_unplugs_and_attach_power_cycles(bus: SimI2CBus) -> None:
    chip = RegisterChip()
    bus.attach(0x50, chip)
    assert chip.resets == 1
    assert bus.detach(0x50) is chip
    with pytest.raises(OSError):
        bus.read_byte(0x50)
    bus.attach(0x50, chip)
    assert chip.resets == 2
    assert bus.read_byte(0x50) == 0


def test_sim_i2c_chips_view_is_read_only(bus: SimI2CBus) -> None:
    chip = RegisterChip()
    bus.attach(0x50, chip)
    assert dict(bus.chips) == {0x50: chip}
    with pytest.raises(TypeError):
        bus.chips[0x51] = chip  # type: ignore[index]
    bus.detach(0x50)
    assert dict(bus.chips) == {}


def test_sim_i2c_attach_and_detach_validate(bus: SimI2CBus) -> None:
    bus.attach(0x50, RegisterChip())
    with pytest.raises(ValueError, match="already taken"):
        bus.attach(0x50, RegisterChip())
    with pytest.raises(ValueError):
        bus.attach(0x80, RegisterChip())
    with pytest.raises(ValueError):
        bus.attach(0x51, object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no chip"):
        bus.detach(0x52)
    with pytest.raises(ValueError):
        SimI2CBus(-1)


def test_sim_i2c_rejects_bad_values_and_addresses(bus: SimI2CBus) -> None:
    bus.attach(0x50, RegisterChip())
    with pytest.raises(ValueError):
        bus.write_byte_data(0x50, 1, 256)
    with pytest.raises(ValueError):
        bus.write_word_data(0x50, 1, 0x10000)
    with pytest.raises(OSError) as info:
        bus.read_byte(0x80)
    assert info.value.errno == errno.EINVAL


def test_sim_i2c_closed_bus_fails_with_ebadf() -> None:
    with SimI2CBus(1) as bus:
        bus.attach(0x50, RegisterChip())
        assert bus.read_byte(0x50) == 0
    with pytest.raises(OSError) as info:
        bus.read_byte(0x50)
    assert info.value.errno == errno.EBADF
