"""The box's local store: readings, events, latched alarms, overrides and state in one SQLite file.

Readings, ordinary events, controller state and the status snapshot are kept in memory and written
in one short transaction every `commit_interval_s` (few SD-card writes); alarms, acknowledgements and
overrides are committed at once (and take the pending rows with them). The file is in WAL mode so a
technician's command can read and write it while the agent runs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from drivers.reading import Reading
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.storage.schema import (
    ALARM_COLUMNS,
    Alarm,
    alarm_from_row,
    event_row,
    from_epoch,
    migrate,
    to_epoch,
    to_json,
)

__all__ = ["Alarm", "Store", "from_epoch", "to_epoch"]

BUSY_TIMEOUT_MS = 5000


class Store:
    """One connection to the box's SQLite store, with batched commits on an injected monotonic clock."""

    def __init__(self, path: Path, *, commit_interval_s: float = 30.0, monotonic: Callable[[], float]) -> None:
        if commit_interval_s <= 0:
            raise ValueError(f"commit_interval_s must be positive, got {commit_interval_s}")
        self.path = Path(path)
        self.commit_interval_s = commit_interval_s
        self.commit_count = 0
        self._monotonic = monotonic
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are opened and closed here, explicitly and briefly.
        self._conn: sqlite3.Connection | None = sqlite3.connect(
            self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000
        )
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self.schema_version_found = migrate(self._conn)
        self._readings: list[tuple[float, str, str, float]] = []
        self._events: list[tuple[float, str, str, str, str]] = []
        self._states: dict[str, str] = {}
        self._status: str | None = None
        self._last_commit_s = monotonic()
        self._data_version = self._pragma_int("data_version")

    # -- connection -------------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (raises once the store is closed)."""
        if self._conn is None:
            raise RuntimeError(f"store {self.path} is closed")
        return self._conn

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pragma_int(self, name: str) -> int:
        return int(self.conn.execute(f"PRAGMA {name}").fetchone()[0])

    def journal_mode(self) -> str:
        """SQLite's journal mode for this file ('wal')."""
        return str(self.conn.execute("PRAGMA journal_mode").fetchone()[0])

    @property
    def pending(self) -> int:
        """How many readings, events, states and snapshots wait for the next commit."""
        return len(self._readings) + len(self._events) + len(self._states) + (self._status is not None)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction that also writes every pending row; pending rows are kept on failure."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            self._write_pending(conn)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self._readings.clear()
        self._events.clear()
        self._states.clear()
        self._status = None
        self.commit_count += 1
        self._last_commit_s = self._monotonic()

    def _write_pending(self, conn: sqlite3.Connection) -> None:
        if self._readings:
            conn.executemany("INSERT INTO readings (ts, sensor, name, value) VALUES (?, ?, ?, ?)", self._readings)
        if self._events:
            conn.executemany(
                "INSERT INTO events (ts, kind, source, reason, data) VALUES (?, ?, ?, ?, ?)", self._events
            )
        if self._states:
            conn.executemany(
                "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(self._states.items()),
            )
        if self._status is not None:
            conn.execute(
                "INSERT INTO status (id, snapshot) VALUES (1, ?) "
                "ON CONFLICT (id) DO UPDATE SET snapshot = excluded.snapshot",
                (self._status,),
            )

    def maybe_commit(self) -> bool:
        """Commit pending rows if `commit_interval_s` has passed since the last commit; say whether it did."""
        if not self.pending or self._monotonic() - self._last_commit_s < self.commit_interval_s:
            return False
        self.commit()
        return True

    def commit(self) -> None:
        """Write every pending row now (no-op when nothing is pending)."""
        if self.pending:
            with self._transaction():
                pass

    def close(self) -> None:
        """Commit what is pending and close (idempotent)."""
        if self._conn is None:
            return
        try:
            self.commit()
        finally:
            self._conn.close()
            self._conn = None

    def abandon(self) -> None:
        """Close WITHOUT committing, losing pending rows: what kill -9 or a power cut does."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        self._readings.clear()
        self._events.clear()
        self._states.clear()
        self._status = None

    def size_bytes(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        total = 0
        for path in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
        return total

    def delete_readings_before(self, before: datetime) -> int:
        """Delete the readings taken before `before` (pending ones are written first); how many went."""
        with self._transaction() as conn:
            removed = conn.execute("DELETE FROM readings WHERE ts < ?", (to_epoch(before),)).rowcount
        return int(removed)

    def changed_externally(self) -> bool:
        """Whether another connection (a technician's command) committed since the last call."""
        version = self._pragma_int("data_version")
        changed = version != self._data_version
        self._data_version = version
        return changed

    # -- batched writes ---------------------------------------------------------------------------

    def add_readings(self, at: datetime, sensor: str, readings: Sequence[Reading]) -> None:
        """Queue one sensor's readings taken at `at` (written at the next commit)."""
        ts = to_epoch(at)
        self._readings.extend((ts, sensor, r.name, float(r.value)) for r in readings)

    def add_event(self, event: Event) -> None:
        """Queue an event (written at the next commit)."""
        self._events.append(event_row(event))

    def save_state(self, key: str, value: Mapping[str, Any]) -> None:
        """Queue a state (controller state, meter totals) to replace the stored one at the next commit."""
        self._states[key] = to_json(value)

    def save_state_json(self, key: str, text: str) -> None:
        """Queue a state already encoded as JSON text (what save_state would write for it)."""
        self._states[key] = text

    def save_status(self, snapshot: Mapping[str, Any]) -> None:
        """Queue the agent's status snapshot (the one `hameau-edge status` shows)."""
        self._status = to_json(snapshot)

    # -- committed at once ------------------------------------------------------------------------

    def add_event_now(self, event: Event) -> None:
        """Record an event and commit at once (with anything pending)."""
        with self._transaction() as conn:
            conn.execute("INSERT INTO events (ts, kind, source, reason, data) VALUES (?, ?, ?, ?, ?)", event_row(event))

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
            with self._transaction() as conn:
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
        with self._transaction() as conn:
            conn.execute(
                "UPDATE alarms SET acked_at = ?, acked_by = ?, "
                "ack_seq = (SELECT coalesce(max(ack_seq), 0) + 1 FROM alarms) WHERE id = ? AND acked_at IS NULL",
                (to_epoch(at), by, alarm_id),
            )
            event = Event(
                "alarm_acked", by, f"alarm {alarm_id} ({alarm.kind} from {alarm.source}) acknowledged by {by}", at,
                {"alarm_id": alarm_id, "key": alarm.key, "alarm_kind": alarm.kind},
            )
            conn.execute("INSERT INTO events (ts, kind, source, reason, data) VALUES (?, ?, ?, ?, ?)", event_row(event))
        return self.alarm(alarm_id)

    def set_override(self, override: Override) -> None:
        """Store a relay override (replacing the relay's previous one) and its "override" event, at once."""
        state = "on" if override.on else "off"
        reason = f"{override.relay} forced {state} until {override.until.isoformat()} by {override.by}"
        event = Event(
            "override", override.by, reason + (f": {override.reason}" if override.reason else ""), override.set_at,
            {"action": "set", "relay": override.relay, "on": override.on, "until": override.until.isoformat()},
        )
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO overrides (relay, on_state, until, set_at, by, reason) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (relay) DO UPDATE SET on_state = excluded.on_state, until = excluded.until, "
                "set_at = excluded.set_at, by = excluded.by, reason = excluded.reason",
                (override.relay, int(override.on), to_epoch(override.until), to_epoch(override.set_at),
                 override.by, override.reason),
            )
            conn.execute("INSERT INTO events (ts, kind, source, reason, data) VALUES (?, ?, ?, ?, ?)", event_row(event))

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
        with self._transaction() as conn:
            conn.execute("DELETE FROM overrides WHERE relay = ?", (relay,))
            conn.execute("INSERT INTO events (ts, kind, source, reason, data) VALUES (?, ?, ?, ?, ?)", event_row(event))
        return removed

    # -- reads ------------------------------------------------------------------------------------

    def overrides(self) -> dict[str, Override]:
        """Every stored override by relay id (expired ones too: controllers report their expiry)."""
        rows = self.conn.execute("SELECT relay, on_state, until, set_at, by, reason FROM overrides ORDER BY relay")
        return {
            relay: Override(relay, bool(on), from_epoch(until), from_epoch(set_at), by, reason)
            for relay, on, until, set_at, by, reason in rows
        }

    def load_state(self, key: str) -> dict[str, Any] | None:
        """The last state saved under `key` (pending included), or None."""
        if key in self._states:
            return json.loads(self._states[key])
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def load_status(self) -> dict[str, Any] | None:
        """The agent's last status snapshot (pending included), or None if it never saved one."""
        if self._status is not None:
            return json.loads(self._status)
        row = self.conn.execute("SELECT snapshot FROM status WHERE id = 1").fetchone()
        return None if row is None else json.loads(row[0])

    def alarm(self, alarm_id: int) -> Alarm | None:
        """One alarm by id, latched or not."""
        row = self.conn.execute(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,)).fetchone()
        return None if row is None else alarm_from_row(row)

    def latched_alarms(self) -> list[Alarm]:
        """Alarms not yet acknowledged, oldest first."""
        rows = self.conn.execute(
            f"SELECT {ALARM_COLUMNS} FROM alarms WHERE acked_at IS NULL ORDER BY raised_at, id"
        )
        return [alarm_from_row(row) for row in rows]

    def ack_cursor(self) -> int:
        """The position of the latest acknowledgement (for `acks_since`)."""
        return int(self.conn.execute("SELECT coalesce(max(ack_seq), 0) FROM alarms").fetchone()[0])

    def acks_since(self, cursor: int | None) -> tuple[frozenset[str], int]:
        """Keys of alarms acknowledged after `cursor` (None: since the start), and the cursor for next time.

        An ack whose key has been raised again since is left out: it must not clear the new alarm.
        """
        rows = self.conn.execute(
            "SELECT ack_seq, key, EXISTS (SELECT 1 FROM alarms b WHERE b.key = a.key AND b.id > a.id) "
            "FROM alarms a WHERE ack_seq > ? ORDER BY ack_seq",
            (cursor or 0,),
        ).fetchall()
        new_cursor = max((int(seq) for seq, _, _ in rows), default=cursor or 0)
        return frozenset(key for _, key, superseded in rows if not superseded), new_cursor

    def readings(
        self, sensor: str, name: str, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[datetime, float]]:
        """(time, value) of one reading in [since, until), oldest first, pending ones included."""
        lo = float("-inf") if since is None else to_epoch(since)
        hi = float("inf") if until is None else to_epoch(until)
        rows = self.conn.execute(
            "SELECT ts, value FROM readings WHERE sensor = ? AND name = ? AND ts >= ? AND ts < ? ORDER BY ts",
            (sensor, name, lo, hi),
        ).fetchall()
        rows += [(ts, v) for ts, s, n, v in self._readings if s == sensor and n == name and lo <= ts < hi]
        return [(from_epoch(ts), value) for ts, value in sorted(rows, key=lambda row: row[0])]

    def events(
        self, kind: str | None = None, since: datetime | None = None, source: str | None = None
    ) -> list[Event]:
        """Events (optionally of one kind, from one source, at or after `since`), oldest first, pending included."""
        lo = float("-inf") if since is None else to_epoch(since)
        sql = "SELECT ts, kind, source, reason, data FROM events WHERE ts >= ?"
        params: list[Any] = [lo]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        if source is not None:
            sql += " AND source = ?"
            params.append(source)
        rows = self.conn.execute(sql + " ORDER BY ts, id", params).fetchall()
        rows += [
            row for row in self._events
            if row[0] >= lo and (kind is None or row[1] == kind) and (source is None or row[2] == source)
        ]
        return [
            Event(k, src, reason, from_epoch(ts), json.loads(data))
            for ts, k, src, reason, data in sorted(rows, key=lambda row: row[0])
        ]

