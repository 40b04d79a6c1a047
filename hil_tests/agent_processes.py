"""Clean-up shared by the tests that start real `hameau-edge run` processes on a simulated box."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path


def stop_and_clean(processes: Iterable[subprocess.Popen[bytes]], tmpdir: Path, rom_id: str) -> None:
    """Kill what still runs, then remove the agents' own temporary folders and simulated 1-Wire trees.

    A killed agent cannot remove its simulated parts' folders: remove its own, and only those.
    """
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
    shutil.rmtree(tmpdir, ignore_errors=True)
    shm = Path("/dev/shm")
    for tree in shm.glob("hameau-w1-*") if shm.is_dir() else ():
        if (tree / rom_id).is_symlink() or (tree / "w1_bus_master1" / rom_id).is_dir():
            shutil.rmtree(tree, ignore_errors=True)
