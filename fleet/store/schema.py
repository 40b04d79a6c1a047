"""The fleet store's schema and its versioned migrations: a `schema_version` table, the same on both engines.

A small table rather than a migration framework: the store is two engines behind one `Database`, the steps
are plain DDL lists kept in code beside the queries that need them, each step runs in one transaction
(PostgreSQL's DDL is transactional, as SQLite's), under a lock so that serve processes starting together
do not race, and a file or database written by a newer Hameau is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fleet.errors import NewerSchemaError
from fleet.store.db import Database
from fleet.store.schema_alarms import STATEMENTS as ALARMS
from fleet.store.schema_configs import STATEMENTS as CONFIGS
from fleet.store.schema_homeassistant import STATEMENTS as HOMEASSISTANT
from fleet.store.schema_notify import STATEMENTS as NOTIFY
from fleet.store.schema_opendata import STATEMENTS as OPENDATA
from fleet.store.schema_registry import STATEMENTS as REGISTRY
from fleet.store.schema_reports import STATEMENTS as REPORTS
from fleet.store.schema_rollups import STATEMENTS as ROLLUPS
from fleet.store.schema_tenants import STATEMENTS as TENANTS
from fleet.store.schema_web import STATEMENTS as WEB

#: Version 1: devices, records keyed (device, lane, seq), batch ranges, lane high-water marks, thinned
#: ranges, clock offsets per boot, reject counters.
SCHEMA_V1: tuple[str, ...] = (
    """CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        first_seen {real} NOT NULL,
        last_seen {real} NOT NULL,
        online INTEGER,
        online_since {real},
        status_at {real},
        boot TEXT,
        version TEXT,
        config_version {bigint},
        batches {bigint} NOT NULL DEFAULT 0,
        records_new {bigint} NOT NULL DEFAULT 0,
        records_resent {bigint} NOT NULL DEFAULT 0
    ) {without_rowid}""",
    """CREATE TABLE records (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        seq {bigint} NOT NULL,
        boot TEXT NOT NULL,
        mono_s {real} NOT NULL,
        wall_s {real} NOT NULL,
        ts {real},
        clock TEXT NOT NULL,
        type TEXT NOT NULL,
        body TEXT NOT NULL,
        received_at {real} NOT NULL,
        PRIMARY KEY (device, lane, seq)
    ) {without_rowid}""",
    # Rows waiting for a clock offset of their boot: small, since boxes correct before sending.
    "CREATE INDEX records_untrusted ON records (device, boot) WHERE ts IS NULL",
    """CREATE TABLE batch_ranges (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        after {bigint} NOT NULL,
        seq_last {bigint} NOT NULL,
        received_at {real} NOT NULL,
        PRIMARY KEY (device, lane, after, seq_last)
    ) {without_rowid}""",
    """CREATE TABLE lanes (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        hwm {bigint} NOT NULL,
        PRIMARY KEY (device, lane)
    ) {without_rowid}""",
    """CREATE TABLE thinned (
        device TEXT NOT NULL,
        lane TEXT NOT NULL,
        seq_from {bigint} NOT NULL,
        seq_to {bigint} NOT NULL,
        count {bigint} NOT NULL,
        reason TEXT NOT NULL,
        event_seq {bigint} NOT NULL,
        PRIMARY KEY (device, event_seq)
    ) {without_rowid}""",
    """CREATE TABLE clock_offsets (
        device TEXT NOT NULL,
        boot TEXT NOT NULL,
        offset_s {real} NOT NULL,
        learned_at {real} NOT NULL,
        PRIMARY KEY (device, boot)
    ) {without_rowid}""",
    """CREATE TABLE rejects (
        device TEXT NOT NULL,
        reason TEXT NOT NULL,
        count {bigint} NOT NULL,
        last_at {real} NOT NULL,
        last_detail TEXT NOT NULL,
        PRIMARY KEY (device, reason)
    ) {without_rowid}""",
)

Migration = Callable[[Database], None]


def ddl_step(statements: tuple[str, ...]) -> Migration:
    """A migration step that runs DDL statements (with the dialect's words filled in)."""

    def step(db: Database) -> None:
        for statement in statements:
            db.execute(db.ddl(statement))

    return step


#: Target version -> the step that brings a store at the version just below up to it.
#: Add a step here when the schema changes; never edit a published step.
MIGRATIONS: Mapping[int, Migration] = {
    1: ddl_step(SCHEMA_V1),
    2: ddl_step(REGISTRY),
    3: ddl_step(ALARMS),
    4: ddl_step(CONFIGS),
    5: ddl_step(ROLLUPS),
    6: ddl_step(NOTIFY),
    7: ddl_step(WEB),
    8: ddl_step(OPENDATA),
    9: ddl_step(HOMEASSISTANT),
    10: ddl_step(TENANTS),
    11: ddl_step(REPORTS),
}

#: The schema version this code writes; a store with a higher version was written by a newer Hameau.
SCHEMA_VERSION = max(MIGRATIONS)

#: Advisory lock key of migrations on PostgreSQL.
_MIGRATION_LOCK = "hameau-fleet-schema"


def migrate(
    db: Database,
    *,
    target: int = SCHEMA_VERSION,
    migrations: Mapping[int, Migration] = MIGRATIONS,
) -> int:
    """Bring the schema up to `target`, one transaction per step; return the version found before."""
    with db.transaction():
        db.lock(_MIGRATION_LOCK)
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        found = int(db.scalar("SELECT coalesce(max(version), 0) FROM schema_version"))
        if found > target:
            raise NewerSchemaError(
                f"fleet store {db.where}: schema version {found} is newer than this Hameau's ({target}):"
                " update the software"
            )
        for version in range(found + 1, target + 1):
            migrations[version](db)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return found
