"""The fleet store behind one interface (FleetStore): SQLite now, PostgreSQL later."""

from __future__ import annotations

from fleet.store.api import (
    DeviceState,
    FleetStore,
    StoreCounts,
    StoredRecord,
    ThinnedRange,
)
from fleet.store.sqlite import SqliteStore
from fleet.store.url import default_db_url, prepare_sqlite


def open_store(url: str | None = None) -> FleetStore:
    """Open the store a `--db` URL names (default: the SQLite file in the fleet's data directory)."""
    if url is None:
        return SqliteStore(prepare_sqlite(default_db_url(), create_parent=True))
    return SqliteStore(prepare_sqlite(url, create_parent=False))


__all__ = [
    "DeviceState",
    "FleetStore",
    "SqliteStore",
    "StoreCounts",
    "StoredRecord",
    "ThinnedRange",
    "open_store",
]
