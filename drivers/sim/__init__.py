"""Simulated buses and parts that answer like the real ones, for tests and laptops."""

from __future__ import annotations

import os
import tempfile


def ram_tempdir(prefix: str) -> tempfile.TemporaryDirectory[str]:
    """A temporary directory in RAM when the machine has one (sysfs and the SD card's page cache are RAM too)."""
    shm = "/dev/shm"
    where = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix=prefix, dir=where)
