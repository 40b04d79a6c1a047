"""Rows waiting in memory for the store's next commit, in a bounded buffer that counts what it drops.

Readings and events are bounded by count. Past its bound the buffer drops the oldest reading; past the
events' bound it drops the oldest ordinary event (a decision, a sensor fault), and the oldest of the kinds
it keeps first (alarms, overrides, store faults) only when nothing else is left. States and the status
snapshot are one value per key, so they are bounded by the box's config and never dropped.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import chain

from drivers.reading import Reading

#: (epoch s, sensor, reading name, value)
ReadingRow = tuple[float, str, str, float]
#: (epoch s, kind, source, reason, data as JSON)
EventRow = tuple[float, str, str, str, str]

EVENT_INSERT = "INSERT INTO events (ts, kind, source, reason, data) VALUES (?, ?, ?, ?, ?)"
#: Bounds when the caller gives none: about five days of the town hall box's readings.
DEFAULT_MAX_READINGS = 50_000
DEFAULT_MAX_EVENTS = 5_000


class Pending:
    """The store's write buffer: readings, events, states and the status snapshot not yet committed."""

    def __init__(
        self,
        max_readings: int = DEFAULT_MAX_READINGS,
        max_events: int = DEFAULT_MAX_EVENTS,
        keep_kinds: Iterable[str] = (),
    ) -> None:
        if max_readings < 1 or max_events < 1:
            raise ValueError(f"buffer bounds must be positive, got {max_readings} readings, {max_events} events")
        self.max_readings = max_readings
        self.max_events = max_events
        self.keep_kinds = frozenset(keep_kinds)
        self.readings: deque[ReadingRow] = deque()
        self._ordinary: deque[EventRow] = deque()
        self._kept: deque[EventRow] = deque()
        self.states: dict[str, str] = {}
        self.status: str | None = None
        #: Rows dropped because the buffer was full, since it was made.
        self.dropped_readings = 0
        self.dropped_events = 0

    def __len__(self) -> int:
        return len(self.readings) + self.event_count + len(self.states) + (self.status is not None)

    @property
    def event_count(self) -> int:
        """Events waiting."""
        return len(self._ordinary) + len(self._kept)

    def keep_first(self, kinds: Iterable[str]) -> None:
        """Add event kinds to those dropped last."""
        self.keep_kinds = self.keep_kinds | frozenset(kinds)

    def add_readings(self, ts: float, sensor: str, readings: Sequence[Reading]) -> None:
        """Queue one sample's readings, dropping the oldest past the bound."""
        self.readings.extend((ts, sensor, r.name, float(r.value)) for r in readings)
        over = len(self.readings) - self.max_readings
        if over > 0:
            for _ in range(over):
                self.readings.popleft()
            self.dropped_readings += over

    def add_event(self, row: EventRow) -> None:
        """Queue an event row, dropping the oldest ordinary event past the bound."""
        (self._kept if row[1] in self.keep_kinds else self._ordinary).append(row)
        if self.event_count > self.max_events:
            (self._ordinary or self._kept).popleft()
            self.dropped_events += 1

    def events(self) -> list[EventRow]:
        """Every waiting event, oldest first."""
        return sorted(chain(self._ordinary, self._kept), key=lambda row: row[0])

    def take_events(self, n: int) -> list[EventRow]:
        """Remove and return the `n` oldest waiting events (to write them apart; `put_back` if that fails)."""
        taken = []
        for _ in range(min(n, self.event_count)):
            ordinary, kept = self._ordinary, self._kept
            source = ordinary if not kept or (ordinary and ordinary[0][0] <= kept[0][0]) else kept
            taken.append(source.popleft())
        return taken

    def put_back(self, rows: Sequence[EventRow]) -> None:
        """Return events `take_events` took, in front of the others."""
        for row in reversed(rows):
            (self._kept if row[1] in self.keep_kinds else self._ordinary).appendleft(row)

    def write(self, conn: sqlite3.Connection) -> None:
        """Insert every waiting row in the caller's open transaction."""
        if self.readings:
            conn.executemany("INSERT INTO readings (ts, sensor, name, value) VALUES (?, ?, ?, ?)", self.readings)
        if self._ordinary or self._kept:
            rows = self.events() if self._kept else self._ordinary
            conn.executemany(EVENT_INSERT, rows)
        if self.states:
            conn.executemany(
                "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(self.states.items()),
            )
        if self.status is not None:
            conn.execute(
                "INSERT INTO status (id, snapshot) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot",
                (self.status,),
            )

    def clear(self) -> None:
        """Forget every waiting row (after a commit, or a power cut)."""
        self.readings.clear()
        self._ordinary.clear()
        self._kept.clear()
        self.states.clear()
        self.status = None
