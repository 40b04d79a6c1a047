"""What the store answers: overrides, states, the status snapshot, alarms, acknowledgements, readings, events."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.storage.pending import Pending
from edge.storage.schema import (
    ALARM_COLUMNS,
    Alarm,
    alarm_from_row,
    from_epoch,
    to_epoch,
)

#: The aggregate tables by period name.
AGGREGATES = {"hourly": "readings_hourly", "daily": "readings_daily"}


class StoreReads:
    """The read side of the store: each query includes the rows still waiting in its buffer where it can."""

    buffer: Pending

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection."""
        raise NotImplementedError

    def overrides(self) -> dict[str, Override]:
        """Every stored override by relay id (expired ones too: controllers report their expiry)."""
        rows = self.conn.execute("SELECT relay, on_state, until, set_at, by, reason FROM overrides ORDER BY relay")
        return {
            relay: Override(relay, bool(on), from_epoch(until), from_epoch(set_at), by, reason)
            for relay, on, until, set_at, by, reason in rows
        }

    def load_state(self, key: str) -> dict[str, Any] | None:
        """The last state saved under `key` (pending included), or None."""
        if key in self.buffer.states:
            return json.loads(self.buffer.states[key])
        row = self.conn.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def all_states(self) -> dict[str, str]:
        """Every state as its JSON text (pending included), by key."""
        states = dict(self.conn.execute("SELECT key, value FROM state").fetchall())
        states.update(self.buffer.states)
        return states

    def load_status(self) -> dict[str, Any] | None:
        """The agent's last status snapshot (pending included), or None if it never saved one."""
        if self.buffer.status is not None:
            return json.loads(self.buffer.status)
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
        """(time, value) of one raw reading in [since, until), oldest first, pending ones included."""
        lo = float("-inf") if since is None else to_epoch(since)
        hi = float("inf") if until is None else to_epoch(until)
        rows = self.conn.execute(
            "SELECT ts, value FROM readings WHERE sensor = ? AND name = ? AND ts >= ? AND ts < ? ORDER BY ts",
            (sensor, name, lo, hi),
        ).fetchall()
        rows += [(ts, v) for ts, s, n, v in self.buffer.readings if s == sensor and n == name and lo <= ts < hi]
        return [(from_epoch(ts), value) for ts, value in sorted(rows, key=lambda row: row[0])]

    def aggregates(self, sensor: str, name: str, period: str) -> list[tuple[datetime, float, float, float, int]]:
        """(start, min, mean, max, count) of one reading per hour or per day ('hourly', 'daily'), oldest first."""
        rows = self.conn.execute(
            f"SELECT ts, min, mean, max, count FROM {AGGREGATES[period]} WHERE sensor = ? AND name = ? ORDER BY ts",
            (sensor, name),
        ).fetchall()
        return [(from_epoch(ts), lo, mean, hi, int(n)) for ts, lo, mean, hi, n in rows]

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
            row for row in self.buffer.events()
            if row[0] >= lo and (kind is None or row[1] == kind) and (source is None or row[2] == source)
        ]
        return [
            Event(k, src, reason, from_epoch(ts), json.loads(data))
            for ts, k, src, reason, data in sorted(rows, key=lambda row: row[0])
        ]
