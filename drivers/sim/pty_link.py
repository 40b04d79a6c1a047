"""A null-modem cable between two pseudo-terminals, bridged by a background thread."""

from __future__ import annotations

import os
import select
import threading
import tty


class PtyLink:
    """Two pty ends: bytes written on one path are read on the other, both ways."""

    def __init__(self) -> None:
        self._fds: list[int] = []
        self._masters: tuple[int, int] | None = None
        self._paths: tuple[str, str] | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def paths(self) -> tuple[str, str]:
        """The two serial device paths (open one with each program)."""
        if self._paths is None:
            raise RuntimeError("the link is not started")
        return self._paths

    def start(self) -> tuple[str, str]:
        """Open both ptys and start bridging; returns the two paths."""
        if self._thread is not None:
            raise RuntimeError("the link is already running")
        master_a, slave_a = os.openpty()
        master_b, slave_b = os.openpty()
        # The slave fds stay open here so that a master never sees a hang-up (EIO)
        # while one side's program has its end closed.
        for fd in (slave_a, slave_b):
            tty.setraw(fd)
        self._fds = [master_a, slave_a, master_b, slave_b]
        self._masters = (master_a, master_b)
        self._paths = (os.ttyname(slave_a), os.ttyname(slave_b))
        self._stop.clear()
        self._thread = threading.Thread(target=self._bridge, name="pty-link", daemon=True)
        self._thread.start()
        return self._paths

    def stop(self) -> None:
        """Stop bridging and close both ptys."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None
        for fd in self._fds:
            os.close(fd)
        self._fds = []
        self._masters = None
        self._paths = None

    def __enter__(self) -> PtyLink:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _bridge(self) -> None:
        assert self._masters is not None
        master_a, master_b = self._masters
        peer = {master_a: master_b, master_b: master_a}
        while not self._stop.is_set():
            ready, _, _ = select.select([master_a, master_b], [], [], 0.02)
            for fd in ready:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    continue
                if data:
                    os.write(peer[fd], data)
