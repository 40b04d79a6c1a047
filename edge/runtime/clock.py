"""The agent's clock: wall time, monotonic time and sleep, injected everywhere, and whether the wall time is true."""

from __future__ import annotations

import ctypes
import ctypes.util
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

#: adjtimex(2): the kernel clears STA_UNSYNC once NTP (systemd-timesyncd, chrony) has disciplined the clock.
STA_UNSYNC = 0x0040
#: systemd-timesyncd touches this file at its first synchronisation after boot.
TIMESYNC_FLAG = Path("/run/systemd/timesync/synchronized")
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


class Clock(Protocol):
    """What the agent needs to know about time."""

    def now(self) -> datetime:
        """Wall time, timezone-aware (UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps, counted from this boot."""
        ...

    def sleep(self, duration_s: float) -> None:
        """Wait (or, in simulation, let time pass)."""
        ...

    def synced(self) -> bool:
        """Whether the wall time is known to be true (synchronised since boot)."""
        ...

    def boot_id(self) -> str:
        """This boot's id: monotonic times mean something only within one boot."""
        ...


class _Timex(ctypes.Structure):
    # struct timex of <sys/timex.h> on 64-bit Linux: modes, then longs; only `status` is read here.
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("_rest", ctypes.c_byte * 200),
    ]


def kernel_clock_synced() -> bool | None:
    """The kernel's view (adjtimex STA_UNSYNC clear), or None where it cannot be asked."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        timex = _Timex()
        if libc.adjtimex(ctypes.byref(timex)) < 0:
            return None
    except (OSError, AttributeError):
        return None
    return not timex.status & STA_UNSYNC


def read_boot_id(path: Path = BOOT_ID_FILE) -> str:
    """The kernel's boot id, or a fresh random id where there is none (not Linux)."""
    try:
        return path.read_text(encoding="ascii").strip() or uuid.uuid4().hex
    except OSError:
        return uuid.uuid4().hex


class SystemClock:
    """The real clock of the box."""

    def __init__(self) -> None:
        self._boot_id = read_boot_id()

    def now(self) -> datetime:
        """Wall time from the system clock, UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """time.monotonic() (CLOCK_MONOTONIC: seconds since this boot, shared by every process)."""
        return time.monotonic()

    def sleep(self, duration_s: float) -> None:
        """time.sleep()."""
        time.sleep(max(0.0, duration_s))

    def synced(self) -> bool:
        """True once NTP has synchronised the clock since boot (a Pi has no real-time clock)."""
        return bool(kernel_clock_synced()) or TIMESYNC_FLAG.exists()

    def boot_id(self) -> str:
        """The kernel's boot id."""
        return self._boot_id
