"""A supervised worker thread: its step's exceptions are caught and counted, and a dead thread is started again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

LOG = logging.getLogger("hameau.link")


class SupervisedThread:
    """Runs `step()` over and over in a daemon thread until stopped.

    paho's own network thread dies silently on some malformed packets (its `is_connected()` then stays True and
    nothing reconnects). Here an exception out of a step is handed to `on_failure` (which drops the connection and
    counts a loop restart) and the loop goes on; and should the thread die anyway, `check()` notices it and starts
    a new one, reporting that too.
    """

    def __init__(self, name: str, step: Callable[[], None], on_failure: Callable[[str], None]) -> None:
        self.name = name
        self._step = step
        self._on_failure = on_failure
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._guard = threading.Lock()
        self.restarts = 0

    @property
    def stopping(self) -> threading.Event:
        """Set when the thread is asked to stop; steps wait on it instead of sleeping."""
        return self._stop

    def start(self) -> None:
        """Start the thread (once; `check()` restarts it)."""
        with self._guard:
            self._stop.clear()
            self._spawn()

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        thread.start()
        self._thread = thread  # only once started: a check in between must not take it for dead

    def alive(self) -> bool:
        """Whether the worker thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def check(self) -> bool:
        """Start the thread again if it died while not asked to stop; True when it did."""
        with self._guard:
            if self._thread is None or self._stop.is_set() or self._thread.is_alive():
                return False
            self.restarts += 1
            self._on_failure(f"the {self.name} thread had died")
            self._spawn()
            return True

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the thread to stop and join it."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # noqa: BLE001 - any failure of a step is a dead connection, never a dead thread
                LOG.warning("%s: step failed: %s: %s", self.name, type(exc).__name__, exc)
                self._on_failure(f"network loop raised {type(exc).__name__}: {exc}")
