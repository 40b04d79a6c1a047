"""The local store's SQLite schema, its migrations, and how rows map to Python values (times, JSON, alarms)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge.controllers.events import Event

#: The schema version this code writes; a file with a higher version was written by a newer Hameau.
SCHEMA_VERSION = 3

#: Version 1: readings, events, latched alarms, overrides, controller state, the agent's status snapshot.
SCHEMA_V1: tuple[str, ...] = (
    """CREATE TABLE readings (
        ts REAL NOT NULL,
        sensor TEXT NOT NULL,
        name TEXT NOT NULL,
        value REAL NOT NULL
    )""",
    "CREATE INDEX readings_sensor_name_ts ON readings (sensor, name, ts)",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX events_ts ON events (ts)",
    "CREATE INDEX events_kind_ts ON events (kind, ts)",
    """CREATE TABLE alarms (
        id INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        source TEXT NOT NULL,
        reason TEXT NOT NULL,
        evidence TEXT NOT NULL DEFAULT '{}',
        raised_at REAL NOT NULL,
        acked_at REAL,
        acked_by TEXT,
        ack_seq INTEGER UNIQUE
    )""",
    # At most one latched (unacknowledged) alarm per key.
    "CREATE UNIQUE INDEX alarms_latched_key ON alarms (key) WHERE acked_at IS NULL",
    """CREATE TABLE overrides (
        relay TEXT PRIMARY KEY,
        on_state INTEGER NOT NULL,
        until REAL NOT NULL,
        set_at REAL NOT NULL,
        by TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
    """CREATE TABLE status (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        snapshot TEXT NOT NULL
    )""",
)

#: Version 2: readings past their raw retention, as hourly then daily (box-local days) min, mean, max, count.
SCHEMA_V2: tuple[str, ...] = tuple(
    f"""CREATE TABLE {table} (
        ts REAL NOT NULL,
        sensor TEXT NOT NULL,
        name TEXT NOT NULL,
        min REAL NOT NULL,
        mean REAL NOT NULL,
        max REAL NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (sensor, name, ts)
    ) WITHOUT ROWID"""
    for table in ("readings_hourly", "readings_daily")
)

#: Version 3: the outbox (records waiting for the fleet's ack, per lane: 0 event, 1 total, 2 raw), each lane's
#: sequence numbers, the clock offsets learned per boot (wall = mono + offset), the commands already seen.
SCHEMA_V3: tuple[str, ...] = (
    """CREATE TABLE outbox (
        lane INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        boot TEXT NOT NULL,
        mono_s REAL NOT NULL,
        wall_s REAL NOT NULL,
        synced INTEGER NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (lane, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE outbox_lanes (
        lane INTEGER PRIMARY KEY,
        last_seq INTEGER NOT NULL DEFAULT 0,
        acked_seq INTEGER NOT NULL DEFAULT 0,
        thinned INTEGER NOT NULL DEFAULT 0
    )""",
    "INSERT INTO outbox_lanes (lane) VALUES (0), (1), (2)",
    """CREATE TABLE clock_offsets (
        boot TEXT PRIMARY KEY,
        offset_s REAL NOT NULL,
        learned_wall_s REAL NOT NULL
    )""",
    """CREATE TABLE commands_seen (
        id TEXT PRIMARY KEY,
        at_s REAL NOT NULL,
        status TEXT NOT NULL
    )""",
)

Migration = Callable[[sqlite3.Connection], None]


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA_V1:
        conn.execute(statement)


def _create_v2(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA_V2:
        conn.execute(statement)


#: Target version -> the step that brings a file at the version just below up to it.
#: Add a step here (and bump SCHEMA_VERSION) when the schema changes; never edit a published step.
def _create_v3(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA_V3:
        conn.execute(statement)


MIGRATIONS: Mapping[int, Migration] = {1: _create_v1, 2: _create_v2, 3: _create_v3}


class NewerSchemaError(RuntimeError):
    """The database was written by a newer Hameau than this one."""


def current_version(conn: sqlite3.Connection) -> int:
    """The schema version of an open database (0 for a new, empty file)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(
    conn: sqlite3.Connection,
    *,
    target: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] = MIGRATIONS,
) -> int:
    """Bring the schema up to `target` in one transaction; return the version found before."""
    row = conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if row[0]:
        found = int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])
        if found > target:
            raise NewerSchemaError(
                f"database schema version {found} is newer than this Hameau's ({target}): update the software"
            )
        if found == target:
            return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated meanwhile.
        found = current_version(conn)
        for version in range(found + 1, target + 1):
            migrations[version](conn)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        conn.execute("COMMIT")
    except BaseException:
        rollback_quietly(conn)
        raise
    return found


def rollback_quietly(conn: sqlite3.Connection) -> None:
    """Roll back an open transaction, if SQLite has not already, without hiding the error that caused it."""
    if conn.in_transaction:
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the error being handled is the one that says what went wrong


ALARM_COLUMNS = "id, key, kind, source, reason, evidence, raised_at, acked_at, acked_by"


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm as stored: latched until a technician acknowledges it."""

    id: int
    key: str
    kind: str
    source: str
    reason: str
    raised_at: datetime
    evidence: Mapping[str, Any] = field(default_factory=dict)
    acked_at: datetime | None = None
    acked_by: str | None = None

    @property
    def latched(self) -> bool:
        """Still waiting for an acknowledgement."""
        return self.acked_at is None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for JSON output."""
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind,
            "source": self.source,
            "reason": self.reason,
            "evidence": dict(self.evidence),
            "raised_at": self.raised_at.isoformat(),
            "acked_at": None if self.acked_at is None else self.acked_at.isoformat(),
            "acked_by": self.acked_by,
        }


def to_epoch(at: datetime) -> float:
    """UTC epoch seconds of an aware datetime (how the store keeps time)."""
    if at.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return at.timestamp()


def from_epoch(ts: float) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return datetime.fromtimestamp(ts, UTC)


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


#: One encoder for every data column (json.dumps would build a new one per call).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)


def to_json(value: Any) -> str:
    """Compact JSON for a data column (datetimes as ISO strings)."""
    return _ENCODER.encode(value)


def event_row(event: Event) -> tuple[float, str, str, str, str]:
    """An event as the row the events table stores."""
    return (to_epoch(event.at), event.kind, event.source, event.reason, to_json(event.data))


def alarm_from_row(row: Sequence[Any]) -> Alarm:
    """An Alarm from a row of ALARM_COLUMNS."""
    alarm_id, key, kind, source, reason, evidence, raised_at, acked_at, acked_by = row
    return Alarm(
        id=int(alarm_id),
        key=key,
        kind=kind,
        source=source,
        reason=reason,
        raised_at=from_epoch(raised_at),
        evidence=json.loads(evidence),
        acked_at=None if acked_at is None else from_epoch(acked_at),
        acked_by=acked_by,
    )
