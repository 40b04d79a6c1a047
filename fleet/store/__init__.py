"""The fleet store behind one interface (FleetStore): SQLite (the embedded default) or PostgreSQL."""

from __future__ import annotations

from fleet.store.api import (
    DeviceState,
    FleetStore,
    StoreCounts,
    StoredRecord,
    ThinnedRange,
)
from fleet.store.sql import PostgresStore, SqliteStore, SqlStore
from fleet.store.url import default_db_url, is_postgresql, prepare_sqlite


def open_store(url: str | None = None) -> SqlStore:
    """Open the store a `--db` URL names (default: the SQLite file in the fleet's data directory)."""
    if url is None:
        return SqliteStore(prepare_sqlite(default_db_url(), create_parent=True))
    if is_postgresql(url):
        return PostgresStore(url)
    return SqliteStore(prepare_sqlite(url, create_parent=False))


__all__ = [
    "DeviceState",
    "FleetStore",
    "PostgresStore",
    "SqlStore",
    "SqliteStore",
    "StoreCounts",
    "StoredRecord",
    "ThinnedRange",
    "open_store",
]
