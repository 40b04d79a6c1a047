"""A few open connections to the fleet store, lent to one request at a time."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fleet.errors import StoreError
from fleet.store import SqlStore, open_store
from fleet.store.db import Database


class StorePool:
    """Up to `size` stores on `url`, opened when first needed; a connection that failed is replaced."""

    def __init__(self, url: str | None, size: int = 4) -> None:
        self.url = url
        self._idle: queue.LifoQueue[SqlStore] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self._open: list[SqlStore] = []

    @contextmanager
    def connection(self) -> Iterator[Database]:
        """A connection for one request; given back after (closed instead when the store failed)."""
        with self._slots:
            try:
                store = self._idle.get_nowait()
            except queue.Empty:
                store = open_store(self.url)
                with self._lock:
                    self._open.append(store)
            try:
                yield store.db
            except StoreError:
                self._discard(store)
                raise
            except BaseException:
                self._give_back(store)
                raise
            else:
                self._give_back(store)

    def _give_back(self, store: SqlStore) -> None:
        self._idle.put(store)

    def _discard(self, store: SqlStore) -> None:
        with self._lock:
            if store in self._open:
                self._open.remove(store)
        store.close()

    def close(self) -> None:
        """Close every connection."""
        with self._lock:
            stores, self._open = self._open, []
        for store in stores:
            store.close()
