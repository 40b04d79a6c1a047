"""The box's real clock: its boot id and whether NTP has set it (a Pi has no real-time clock)."""

from __future__ import annotations

import time
from pathlib import Path

from edge.runtime.clock import (
    STA_UNSYNC,
    SystemClock,
    kernel_clock_synced,
    load_libc,
    read_boot_id,
)


def test_system_clock_boot_id_is_the_kernels(tmp_path: Path) -> None:
    kernel = Path("/proc/sys/kernel/random/boot_id")
    if kernel.exists():
        assert SystemClock().boot_id() == kernel.read_text().strip()
    boot = tmp_path / "boot_id"
    boot.write_text("6f1c2a9e-0d1b-4c43-9a4e-2b8f7c1d0e55\n")
    assert read_boot_id(boot) == "6f1c2a9e-0d1b-4c43-9a4e-2b8f7c1d0e55"


def test_system_clock_boot_id_without_the_kernels_is_random(tmp_path: Path) -> None:
    first, second = read_boot_id(tmp_path / "none"), read_boot_id(tmp_path / "none")
    assert len(first) == 32 and first != second


def test_system_clock_sync_state_from_adjtimex() -> None:
    # adjtimex(2), sys/timex.h: STA_UNSYNC is 0x0040.
    assert STA_UNSYNC == 0x0040
    assert kernel_clock_synced(None) is None
    answer = kernel_clock_synced(load_libc())
    assert answer in (True, False, None)
    assert isinstance(SystemClock().synced(), bool)


def test_system_clock_sync_state_is_cheap_to_ask() -> None:
    clock = SystemClock()
    start = time.perf_counter()
    for _ in range(2000):
        clock.synced()
    reference = time.perf_counter()
    for _ in range(2000):
        time.monotonic()
    # Asked for every record stamped: within a few times the cost of reading the monotonic clock itself,
    # not a library lookup (find_library runs ldconfig, milliseconds) per call.
    assert (reference - start) < 50 * (time.perf_counter() - reference) + 0.01
