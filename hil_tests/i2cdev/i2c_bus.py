"""The Pi's I2C adapter as i2c-dev drives it: messages to the chips at their addresses, NACK as EREMOTEIO."""

from __future__ import annotations

import errno
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Protocol

from i2cdev.abi import Message


class Chip(Protocol):
    """An I2C slave as the bus sees it: it ACKs (or not) its address, takes bytes, gives bytes."""

    part: str

    def address(self, read: bool, now_s: float) -> bool:
        """ACK (True) or NACK the address byte of a START in this direction."""

    def write(self, data: bytes, now_s: float) -> None:
        """Bytes the master sent after an acknowledged write header."""

    def read(self, length: int, now_s: float) -> bytes:
        """Bytes the chip shifts out after an acknowledged read header."""

    def stop(self, now_s: float) -> None:
        """The STOP condition that ends the transfer."""


class TransactionLog:
    """Append-only JSON-lines file of what every chip saw, flushed line by line for the test to read."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self._file: IO[str] = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - open for the run
        self._clock = clock
        self._start_s = clock()
        self._lock = threading.Lock()

    def now_s(self) -> float:
        """Seconds since the log was opened (the chips' time base)."""
        return self._clock() - self._start_s

    def record(self, **entry: Any) -> None:
        """Write one entry, stamped with `t_s`."""
        entry = {"t_s": round(self.now_s(), 6), **entry}
        with self._lock:
            self._file.write(json.dumps(entry) + "\n")

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._file.close()


class I2CAdapter:
    """One I2C bus (/dev/i2c-<number>): runs messages against attached chips like i2c-bcm2835 does."""

    def __init__(self, number: int, log: TransactionLog) -> None:
        self.name = f"i2c-{number}"
        self._log = log
        self._chips: dict[int, Chip] = {}
        self._lock = threading.RLock()
        self._seq = 0

    def attach(self, address: int, chip: Chip) -> None:
        """Wire a chip at a 7-bit address (a fresh chip: power-on reset state)."""
        with self._lock:
            self._chips[address] = chip

    def detach(self, address: int) -> None:
        """Unplug the chip at an address: it stops acknowledging."""
        with self._lock:
            self._chips.pop(address, None)

    def chip(self, address: int) -> Chip | None:
        """The chip wired at an address, if any."""
        with self._lock:
            return self._chips.get(address)

    def transfer(self, messages: list[Message], *, ioctl: str, smbus: str | None = None) -> int:
        """Run messages with repeated STARTs and one STOP; 0, or EREMOTEIO at the first NACK."""
        with self._lock:
            self._seq += 1
            touched: list[Chip] = []
            result = 0
            for message in messages:
                chip = self._chips.get(message.addr)
                now_s = self._log.now_s()
                acked = chip is not None and chip.address(message.read, now_s)
                if not acked:
                    self._record(message, chip, ioctl, smbus, acked=False)
                    result = errno.EREMOTEIO  # i2c-bcm2835: a NACK ends the transfer with -EREMOTEIO
                    break
                assert chip is not None
                if chip not in touched:
                    touched.append(chip)
                if message.read:
                    message.data = bytes(chip.read(message.length, now_s))
                    if len(message.data) != message.length:
                        raise AssertionError(f"{chip.part} gave {len(message.data)} bytes, {message.length} read")
                else:
                    chip.write(message.data, now_s)
                self._record(message, chip, ioctl, smbus, acked=True)
            for chip in touched:
                chip.stop(self._log.now_s())
            return result

    def _record(self, message: Message, chip: Chip | None, ioctl: str, smbus: str | None, *, acked: bool) -> None:
        self._log.record(
            bus=self.name, seq=self._seq, ioctl=ioctl, smbus=smbus, addr=message.addr,
            part=chip.part if chip is not None else None, dir="r" if message.read else "w",
            length=message.length, data=message.data.hex() if acked else "", ack=acked,
        )
