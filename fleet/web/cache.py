"""A small cache of computed views, timed by the app's clock: the inhabitants' page is read by anyone, often,
and its figures change once a day at most (they stop at yesterday), so each commune's is computed once per
`ttl_s` rather than at every visit."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class TimedCache:
    """Values kept `ttl_s` seconds of the app's clock, at most `max_items` of them (the least recent dropped)."""

    def __init__(self, ttl_s: float, max_items: int = 256) -> None:
        self.ttl_s, self.max_items = ttl_s, max_items
        self._items: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, now: float, make: Callable[[], T]) -> T:
        """The value kept for `key` if made less than `ttl_s` ago (and not in the future), else `make()`'s, kept."""
        with self._lock:
            found = self._items.get(key)
            if found is not None and 0.0 <= now - found[0] < self.ttl_s:
                self._items.move_to_end(key)
                value: T = found[1]
                return value
        value = make()  # outside the lock: one slow commune does not hold up the others
        with self._lock:
            self._items[key] = (now, value)
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every value (the next `get` of each key makes it again)."""
        with self._lock:
            self._items.clear()
