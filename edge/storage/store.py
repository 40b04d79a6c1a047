"""The box's local store: readings, events, latched alarms, overrides and state in one SQLite file.

Readings, ordinary events, controller state and the status snapshot wait in a bounded memory buffer
(edge/storage/pending.py) and are written in one short transaction every `commit_interval_s` (few SD-card
writes); alarms, acknowledgements and overrides are committed at once (and take the pending rows with them).
Every reading and event written is copied, in its transaction, into the outbox with its lane's next sequence
number (edge/storage/outbox_rows.py), stamped by `stamp` (boot, monotonic s, clock synced) when it was made.
The file is in WAL mode so a technician's command can read and write it while the agent runs, with
`synchronous = FULL`: every commit is on the card (one fdatasync of the log) before it returns, so a power
cut keeps it. An error leaves the buffer as it was and is raised as SQLite gave it (edge/storage/faults.py
says what each means); the agent's keeper (edge/storage/keeper.py) decides what to do about it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from drivers.reading import Reading
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.storage.budget import CHUNK_ROWS, PageStats, apply_budget
from edge.storage.outbox_rows import StampSource, stamp_source
from edge.storage.pending import Pending, insert_event
from edge.storage.place import DbFileWatch
from edge.storage.reads import StoreReads
from edge.storage.schema import (
    Alarm,
    event_row,
    from_epoch,
    migrate,
    rollback_quietly,
    to_epoch,
    to_json,
)

__all__ = ["Alarm", "PageStats", "Store", "from_epoch", "to_epoch"]

BUSY_TIMEOUT_MS = 5000
#: A connection's hook (the simulation's storage faults set SQLite pragmas through it).
OnConnect = Callable[[sqlite3.Connection], None]


class Store(StoreReads):
    """One connection to the box's SQLite store, with batched commits on an injected monotonic clock."""

    def __init__(
        self,
        path: Path,
        *,
        commit_interval_s: float = 30.0,
        monotonic: Callable[[], float],
        buffer: Pending | None = None,
        budget_bytes: int | None = None,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        on_connect: OnConnect | None = None,
        stamp: StampSource | None = None,
    ) -> None:
        if commit_interval_s <= 0:
            raise ValueError(f"commit_interval_s must be positive, got {commit_interval_s}")
        self.path = Path(path)
        self.commit_interval_s = commit_interval_s
        self.commit_count = 0
        self.buffer = buffer if buffer is not None else Pending()
        self._monotonic = monotonic
        #: (boot, monotonic s, synced) of each record copied into the outbox (default: monotonic's clock).
        self.stamp = stamp if stamp is not None else stamp_source(monotonic)
        if self.buffer.stamp is None:
            self.buffer.stamp = self.stamp
        #: The most readings, and events, one transaction writes (a budget's log share sets them lower).
        self.chunk_readings, self.chunk_events = CHUNK_ROWS, CHUNK_ROWS
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are opened and closed here, explicitly and briefly.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_ms / 1000)
        self._watch: DbFileWatch | None = None
        try:
            conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA temp_store = MEMORY")  # sorting and folding need no disk space
            if budget_bytes is not None:
                self.chunk_readings, self.chunk_events = apply_budget(conn, budget_bytes)
            if on_connect is not None:
                on_connect(conn)
            self.schema_version_found = migrate(conn)
            self._watch = DbFileWatch(self.path)
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn
        self._last_commit_s = monotonic()
        self._data_version = self._pragma_int("data_version")

    # -- connection -------------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (raises once the store is closed)."""
        if self._conn is None:
            raise RuntimeError(f"store {self.path} is closed")
        return self._conn

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pragma_int(self, name: str) -> int:
        return int(self.conn.execute(f"PRAGMA {name}").fetchone()[0])

    def journal_mode(self) -> str:
        """SQLite's journal mode for this file ('wal')."""
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0])

    def set_busy_timeout(self, busy_timeout_ms: int) -> None:
        """How long a write waits for another program's lock before it fails with "database is locked"."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")

    def page_stats(self) -> PageStats:
        """Pages in the file, free pages, page size and the page cap (the budget)."""
        return PageStats(
            self._pragma_int(name) for name in ("page_count", "freelist_count", "page_size", "max_page_count")
        )

    def file_problem(self) -> str | None:
        """Whether the file under the connection is gone, replaced, cut short or garbled (None: not seen)."""
        return None if self._watch is None else self._watch.problem()

    @property
    def pending(self) -> int:
        """How many readings, events, states and snapshots wait for the next commit."""
        return len(self.buffer)

    @contextmanager
    def transaction(self, *, with_pending: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction that also writes every pending row (unless told not to); kept on failure.

        The error raised is the one that caused the failure ("database or disk is full"), never the
        rollback's own complaint when SQLite had already rolled back.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            if with_pending:
                self.buffer.write(conn)
            conn.execute("COMMIT")
        except BaseException:
            rollback_quietly(conn)
            raise
        if with_pending:
            self.buffer.clear()
        self.commit_count += 1
        self._last_commit_s = self._monotonic()


    def maybe_commit(self) -> bool:
        """Commit pending rows if `commit_interval_s` has passed since the last commit; say whether it did."""
        if not self.pending or self._monotonic() - self._last_commit_s < self.commit_interval_s:
            return False
        self.commit()
        return True

    def commit(self) -> None:
        """Write every pending row now (no-op when nothing is pending); a backlog goes in several transactions
        of at most `chunk_readings` readings or `chunk_events` events, so that the log stays within its share."""
        buffer, chunk = self.buffer, self.chunk_readings
        while len(buffer.readings) > chunk:
            with self.transaction(with_pending=False) as conn:
                buffer.write_readings(conn, chunk)
            buffer.forget_readings(chunk)
        while buffer.event_count > self.chunk_events:
            rows = buffer.take_events(self.chunk_events)
            try:
                with self.transaction(with_pending=False) as conn:
                    buffer.write_events(conn, rows)
            except BaseException:
                buffer.put_back(rows)
                raise
        if self.pending:
            with self.transaction():
                pass

    def close(self) -> None:
        """Commit what is pending and close (idempotent)."""
        if self._conn is None:
            return
        try:
            self.commit()
        finally:
            self._close_connection()

    def abandon(self) -> None:
        """Close WITHOUT committing, losing pending rows: what kill -9 or a power cut does."""
        self.disconnect()
        self.buffer.clear()

    def disconnect(self) -> None:
        """Close the connection without committing, leaving the pending rows in the buffer."""
        self._close_connection()

    def apply_budget(self, budget_bytes: int) -> None:
        """Cap the file so that it and its write-ahead log stay within `budget_bytes`."""
        self.chunk_readings, self.chunk_events = apply_budget(self.conn, budget_bytes)

    def _close_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
                if self._watch is not None:
                    self._watch.close()

    def size_bytes(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        total = 0
        for path in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total

    def changed_externally(self) -> bool:
        """Whether another connection (a technician's command) committed since the last call."""
        version = self._pragma_int("data_version")
        changed = version != self._data_version
        self._data_version = version
        return changed

    # -- batched writes ---------------------------------------------------------------------------

    def add_readings(self, at: datetime, sensor: str, readings: Sequence[Reading]) -> None:
        """Queue one sensor's readings taken at `at` (written at the next commit)."""
        self.buffer.add_readings(to_epoch(at), sensor, readings)

    def add_event(self, event: Event) -> None:
        """Queue an event (written at the next commit)."""
        self.buffer.add_event(event_row(event))

    def save_state(self, key: str, value: Mapping[str, Any]) -> None:
        """Queue a state (controller state, meter totals) to replace the stored one at the next commit."""
        self.buffer.states[key] = to_json(value)

    def save_state_json(self, key: str, text: str) -> None:
        """Queue a state already encoded as JSON text (what save_state would write for it)."""
        self.buffer.states[key] = text

    def save_status(self, snapshot: Mapping[str, Any]) -> None:
        """Queue the agent's status snapshot (the one `hameau-edge status` shows)."""
        self.buffer.status = to_json(snapshot)

    # -- committed at once ------------------------------------------------------------------------

    def add_event_now(self, event: Event) -> None:
        """Record an event and commit at once (with anything pending)."""
        with self.transaction() as conn:
            insert_event(conn, event_row(event), self.stamp())

    def raise_alarm(
        self, key: str, kind: str, source: str, reason: str, evidence: Mapping[str, Any], at: datetime
    ) -> int:
        """Latch an alarm and commit at once; a key already latched keeps its alarm, whose id is returned.

        Only the alarm table is written: the caller records the controller's "alarm" event itself.
        """
        existing = self._latched_id(key)
        if existing is not None:
            return existing
        try:
            with self.transaction() as conn:
                cursor = conn.execute(
                    "INSERT INTO alarms (key, kind, source, reason, evidence, raised_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (key, kind, source, reason, to_json(evidence), to_epoch(at)),
                )
                alarm_id = cursor.lastrowid
        except sqlite3.IntegrityError:
            # Another connection latched the same key between the check and the insert.
            existing = self._latched_id(key)
            if existing is None:
                raise
            return existing
        assert alarm_id is not None
        return alarm_id

    def _latched_id(self, key: str) -> int | None:
        row = self.conn.execute("SELECT id FROM alarms WHERE key = ? AND acked_at IS NULL", (key,)).fetchone()
        return None if row is None else int(row[0])

    def ack_alarm(self, alarm_id: int, by: str, at: datetime) -> Alarm | None:
        """Acknowledge an alarm and record an "alarm_acked" event, at once; None if no such alarm.

        An alarm already acknowledged is returned as it is (check `latched` before to tell).
        """
        alarm = self.alarm(alarm_id)
        if alarm is None or not alarm.latched:
            return alarm
        with self.transaction() as conn:
            conn.execute(
                "UPDATE alarms SET acked_at = ?, acked_by = ?, "
                "ack_seq = (SELECT coalesce(max(ack_seq), 0) + 1 FROM alarms) WHERE id = ? AND acked_at IS NULL",
                (to_epoch(at), by, alarm_id),
            )
            event = Event(
                "alarm_acked", by, f"alarm {alarm_id} ({alarm.kind} from {alarm.source}) acknowledged by {by}", at,
                {"alarm_id": alarm_id, "key": alarm.key, "alarm_kind": alarm.kind},
            )
            insert_event(conn, event_row(event), self.stamp())
        return self.alarm(alarm_id)

    def set_override(self, override: Override) -> None:
        """Store a relay override (replacing the relay's previous one) and its "override" event, at once."""
        state = "on" if override.on else "off"
        reason = f"{override.relay} forced {state} until {override.until.isoformat()} by {override.by}"
        event = Event(
            "override", override.by, reason + (f": {override.reason}" if override.reason else ""), override.set_at,
            {"action": "set", "relay": override.relay, "on": override.on, "until": override.until.isoformat()},
        )
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO overrides (relay, on_state, until, set_at, by, reason) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (relay) DO UPDATE SET on_state = excluded.on_state, until = excluded.until, "
                "set_at = excluded.set_at, by = excluded.by, reason = excluded.reason",
                (override.relay, int(override.on), to_epoch(override.until), to_epoch(override.set_at),
                 override.by, override.reason),
            )
            insert_event(conn, event_row(event), self.stamp())

    def clear_override(self, relay: str, at: datetime, by: str) -> Override | None:
        """Remove a relay's override (back to automatic) with an "override" event, at once; the removed one."""
        removed = self.overrides().get(relay)
        if removed is None:
            return None
        how = "expired" if removed.over(at) else f"cleared by {by}"
        event = Event(
            "override", by, f"{relay} back to automatic control: override {how}", at,
            {"action": "cleared", "relay": relay},
        )
        with self.transaction() as conn:
            conn.execute("DELETE FROM overrides WHERE relay = ?", (relay,))
            insert_event(conn, event_row(event), self.stamp())
        return removed

    def restore(
        self,
        states: Mapping[str, str],
        alarms: Iterable[Mapping[str, Any]],
        overrides: Iterable[Override],
        event: Event,
    ) -> int:
        """Write states, latched alarms and overrides kept elsewhere (memory, the safety copy), with `event`.

        An alarm already stored (same key and time raised, acknowledged or not) is not written again, nor
        one whose key is latched; how many alarms were written is returned.
        """
        written = 0
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(states.items()),
            )
            for a in alarms:
                raised = float(a["raised_at"])
                if conn.execute(
                    "SELECT 1 FROM alarms WHERE key = ? AND (raised_at = ? OR acked_at IS NULL)", (a["key"], raised)
                ).fetchone():
                    continue
                conn.execute(
                    "INSERT INTO alarms (key, kind, source, reason, evidence, raised_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (a["key"], a["kind"], a["source"], a["reason"], to_json(a.get("evidence", {})), raised),
                )
                written += 1
            for o in overrides:
                conn.execute(
                    "INSERT INTO overrides (relay, on_state, until, set_at, by, reason) VALUES (?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (relay) DO UPDATE SET on_state = excluded.on_state, until = excluded.until, "
                    "set_at = excluded.set_at, by = excluded.by, reason = excluded.reason",
                    (o.relay, int(o.on), to_epoch(o.until), to_epoch(o.set_at), o.by, o.reason),
                )
            insert_event(conn, event_row(event), self.stamp())
        return written
