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
from itertools import chain, islice

from drivers.reading import Reading
from edge.storage.outbox_rows import (
    Stamp,
    StampSource,
    append,
    event_outbox,
    reading_body,
    reading_lane,
    stamp_source,
)

#: (epoch s, sensor, reading name, value)
ReadingRow = tuple[float, str, str, float]
#: (epoch s, kind, source, reason, data as JSON)
EventRow = tuple[float, str, str, str, str]
#: A waiting event and its stamp (when it was produced).
StampedEvent = tuple[EventRow, Stamp]
#: A waiting reading's outbox lane (None: not copied) and stamp, kept beside `Pending.readings`.
ReadingMeta = tuple[int | None, Stamp]

READING_INSERT = "INSERT INTO readings (ts, sensor, name, value) VALUES (?, ?, ?, ?)"
EVENT_INSERT = "INSERT INTO events (ts, kind, source, reason, data) VALUES (?, ?, ?, ?, ?)"
#: Bounds when the caller gives none: about five days of the town hall box's readings.
DEFAULT_MAX_READINGS = 50_000
DEFAULT_MAX_EVENTS = 5_000


class Pending:
    """The store's write buffer: readings, events, states and the status snapshot not yet committed.

    Each reading and event is stamped (boot, monotonic s, clock synced) when it is queued, and copied into
    the outbox (edge/storage/outbox_rows.py) in the transaction that writes it; one dropped here never is.
    """

    def __init__(
        self,
        max_readings: int = DEFAULT_MAX_READINGS,
        max_events: int = DEFAULT_MAX_EVENTS,
        keep_kinds: Iterable[str] = (),
        stamp: StampSource | None = None,
    ) -> None:
        if max_readings < 1 or max_events < 1:
            raise ValueError(f"buffer bounds must be positive, got {max_readings} readings, {max_events} events")
        self.max_readings = max_readings
        self.max_events = max_events
        self.keep_kinds = frozenset(keep_kinds)
        #: Where stamps come from (a store given this buffer without one sets its own).
        self.stamp: StampSource | None = stamp
        self.readings: deque[ReadingRow] = deque()
        self._meta: deque[ReadingMeta] = deque()
        self._ordinary: deque[StampedEvent] = deque()
        self._kept: deque[StampedEvent] = deque()
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
        stamp = self._stamp()
        for r in readings:
            value = float(r.value)
            self.readings.append((ts, sensor, r.name, value))
            self._meta.append((reading_lane(r.quantity, value), stamp))
        over = len(self.readings) - self.max_readings
        if over > 0:
            for _ in range(over):
                self.readings.popleft()
                self._meta.popleft()
            self.dropped_readings += over

    def add_event(self, row: EventRow) -> None:
        """Queue an event row, dropping the oldest ordinary event past the bound."""
        (self._kept if row[1] in self.keep_kinds else self._ordinary).append((row, self._stamp()))
        if self.event_count > self.max_events:
            (self._ordinary or self._kept).popleft()
            self.dropped_events += 1

    def _stamp(self) -> Stamp:
        return (self.stamp or _UNSTAMPED)()

    def _stamped_events(self) -> list[StampedEvent]:
        if not self._kept:
            return list(self._ordinary)
        return sorted(chain(self._ordinary, self._kept), key=lambda pair: pair[0][0])

    def events(self) -> list[EventRow]:
        """Every waiting event, oldest first."""
        return [row for row, _ in self._stamped_events()]

    def take_events(self, n: int) -> list[StampedEvent]:
        """Remove and return the `n` oldest waiting events (to write them apart; `put_back` if that fails)."""
        taken = []
        for _ in range(min(n, self.event_count)):
            ordinary, kept = self._ordinary, self._kept
            source = ordinary if not kept or (ordinary and ordinary[0][0][0] <= kept[0][0][0]) else kept
            taken.append(source.popleft())
        return taken

    def put_back(self, taken: Sequence[StampedEvent]) -> None:
        """Return events `take_events` took, in front of the others."""
        for pair in reversed(taken):
            (self._kept if pair[0][1] in self.keep_kinds else self._ordinary).appendleft(pair)

    def write_readings(self, conn: sqlite3.Connection, n: int | None = None) -> int:
        """Insert the `n` oldest waiting readings (all by default) and their outbox copies in the caller's open
        transaction, leaving them waiting (`forget_readings` once committed); how many."""
        n = len(self.readings) if n is None else min(n, len(self.readings))
        if n:
            conn.executemany(READING_INSERT, islice(self.readings, n))
            append(conn, (
                (lane, stamp[0], stamp[1], ts, int(stamp[2]), "reading", reading_body(sensor, name, value))
                for (ts, sensor, name, value), (lane, stamp) in islice(zip(self.readings, self._meta), n)
                if lane is not None
            ))
        return n

    def forget_readings(self, n: int) -> None:
        """Drop the `n` oldest waiting readings (written and committed)."""
        for _ in range(n):
            self.readings.popleft()
            self._meta.popleft()

    @staticmethod
    def write_events(conn: sqlite3.Connection, events: Sequence[StampedEvent]) -> None:
        """Insert stamped events and their outbox copies in the caller's open transaction."""
        if events:
            conn.executemany(EVENT_INSERT, (row for row, _ in events))
            append(conn, (event_outbox(row, stamp) for row, stamp in events))

    def write(self, conn: sqlite3.Connection) -> None:
        """Insert every waiting row in the caller's open transaction."""
        self.write_readings(conn)
        if self._ordinary or self._kept:
            self.write_events(conn, self._stamped_events())
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
        self._meta.clear()
        self._ordinary.clear()
        self._kept.clear()
        self.states.clear()
        self.status = None


def _no_clock() -> float:
    return 0.0


_UNSTAMPED = stamp_source(_no_clock)


def insert_event(conn: sqlite3.Connection, row: EventRow, stamp: Stamp) -> None:
    """Insert one event row and its outbox copy in the caller's open transaction."""
    conn.execute(EVENT_INSERT, row)
    append(conn, (event_outbox(row, stamp),))


__all__ = ["EVENT_INSERT", "READING_INSERT", "Pending", "insert_event"]
