"""The fleet store behind one interface (FleetStore): SQLite (the embedded default) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence

from fleet.store.api import (
    DeviceState,
    FleetStore,
    IngestObserver,
    StoreCounts,
    StoredRecord,
    ThinnedRange,
)
from fleet.store.sql import PostgresStore, SqliteStore, SqlStore
from fleet.store.url import default_db_url, is_postgresql, prepare_sqlite


def open_store(url: str | None = None, observers: Sequence[IngestObserver] = ()) -> SqlStore:
    """Open the store a `--db` URL names (default: the SQLite file in the fleet's data directory)."""
    if url is None:
        return SqliteStore(prepare_sqlite(default_db_url(), create_parent=True), observers)
    if is_postgresql(url):
        return PostgresStore(url, observers)
    return SqliteStore(prepare_sqlite(url, create_parent=False), observers)


__all__ = [
    "DeviceState",
    "FleetStore",
    "IngestObserver",
    "PostgresStore",
    "SqlStore",
    "SqliteStore",
    "StoreCounts",
    "StoredRecord",
    "ThinnedRange",
    "open_store",
]
