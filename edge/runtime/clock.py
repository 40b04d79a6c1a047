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


def load_libc() -> ctypes.CDLL | None:
    """The C library (found once: find_library runs ldconfig), or None where there is none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None


def kernel_clock_synced(libc: ctypes.CDLL | None) -> bool | None:
    """The kernel's view (adjtimex STA_UNSYNC clear), or None where it cannot be asked."""
    if libc is None:
        return None
    try:
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

    #: How long an answer of synced() is kept (it is asked for every record stamped).
    SYNCED_CACHE_S = 5.0

    def __init__(self) -> None:
        self._boot_id = read_boot_id()
        self._libc = load_libc()
        self._synced: tuple[float, bool] | None = None

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
        now_s = time.monotonic()
        if self._synced is None or now_s - self._synced[0] >= self.SYNCED_CACHE_S:
            self._synced = (now_s, bool(kernel_clock_synced(self._libc)) or TIMESYNC_FLAG.exists())
        return self._synced[1]

    def boot_id(self) -> str:
        """The kernel's boot id."""
        return self._boot_id
