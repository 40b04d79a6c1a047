"""The fleet store's SQLite schema and its versioned migrations (a migration table, as the box's store)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping

from fleet.errors import NewerSchemaError

#: The schema version this code writes; a file with a higher version was written by a newer Hameau.
SCHEMA_VERSION = 1

#: Version 1: devices, records keyed (device, lane, seq), batch ranges, lane high-water marks, thinned
#: ranges, clock offsets per boot, reject counters.
SCHEMA_V1: tuple[str, ...] = (
    """CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        first_seen REAL NOT NULL,
        last_seen REAL NOT NULL,
        online INTEGER,
        online_since REAL,
        status_at REAL,
        boot TEXT,
        version TEXT,
        config_version INTEGER,
        batches INTEGER NOT NULL DEFAULT 0,
        records_new INTEGER NOT NULL DEFAULT 0,
        records_resent INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID""",
    """CREATE TABLE records (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        seq INTEGER NOT NULL,
        boot TEXT NOT NULL,
        mono_s REAL NOT NULL,
        wall_s REAL NOT NULL,
        ts REAL,
        clock TEXT NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (device, lane, seq)
    ) WITHOUT ROWID""",
    # Rows waiting for a clock offset of their boot: small, since boxes correct before sending.
    "CREATE INDEX records_untrusted ON records (device, boot) WHERE ts IS NULL",
    """CREATE TABLE batch_ranges (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        after INTEGER NOT NULL,
        seq_last INTEGER NOT NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (device, lane, after, seq_last)
    ) WITHOUT ROWID""",
    """CREATE TABLE lanes (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        hwm INTEGER NOT NULL,
        PRIMARY KEY (device, lane)
    ) WITHOUT ROWID""",
    """CREATE TABLE thinned (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        seq_from INTEGER NOT NULL,
        seq_to INTEGER NOT NULL,
        count INTEGER NOT NULL,
        reason TEXT NOT NULL,
        event_seq INTEGER NOT NULL,
        PRIMARY KEY (device, event_seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE clock_offsets (
        device TEXT NOT NULL,
        boot TEXT NOT NULL,
        offset_s REAL NOT NULL,
        learned_at REAL NOT NULL,
        PRIMARY KEY (device, boot)
    ) WITHOUT ROWID""",
    """CREATE TABLE rejects (
        device TEXT NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL,
        last_at REAL NOT NULL,
        last_detail TEXT NOT NULL,
        PRIMARY KEY (device, reason)
    ) WITHOUT ROWID""",
)

Migration = Callable[[sqlite3.Connection], None]


def _create_v1(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA_V1:
        conn.execute(statement)


#: Target version -> the step that brings a file at the version just below up to it.
#: Add a step here (and bump SCHEMA_VERSION) when the schema changes; never edit a published step.
MIGRATIONS: Mapping[int, Migration] = {1: _create_v1}


def migrate(
    conn: sqlite3.Connection,
    *,
    target: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] = MIGRATIONS,
) -> int:
    """Bring the schema up to `target` in one transaction; return the version found before."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        found = int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])
        if found > target:
            raise NewerSchemaError(
                f"fleet store schema version {found} is newer than this Hameau's ({target}): update the software"
            )
        for version in range(found + 1, target + 1):
            migrations[version](conn)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return found
