"""The store's daily upkeep, run by the calendar: old readings removed, the write-ahead log folded back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from edge.storage.store import Store


@dataclass(frozen=True, slots=True)
class Upkeep:
    """What one upkeep did."""

    readings_removed: int
    kept_since: datetime
    wal_before_bytes: int
    wal_after_bytes: int
    #: A reader (a technician's command) kept the log from being emptied this time.
    checkpoint_blocked: bool

    def describe(self) -> str:
        """In words, for the events table."""
        text = f"daily upkeep: {self.readings_removed} reading(s) from before {self.kept_since:%Y-%m-%d} removed"
        if self.checkpoint_blocked:
            return f"{text}; write-ahead log of {self.wal_before_bytes} B kept (a reader held it)"
        return f"{text}; write-ahead log folded back ({self.wal_before_bytes} B -> {self.wal_after_bytes} B)"


def _wal_bytes(path: Path) -> int:
    try:
        return path.with_name(path.name + "-wal").stat().st_size
    except FileNotFoundError:
        return 0


def daily_upkeep(store: Store, now: datetime, keep_readings_days: float) -> Upkeep:
    """Remove readings older than `keep_readings_days`, empty the write-ahead log, let SQLite re-plan queries."""
    kept_since = now - timedelta(days=keep_readings_days)
    removed = store.delete_readings_before(kept_since)
    before = _wal_bytes(store.path)
    busy, _, _ = store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    store.conn.execute("PRAGMA optimize")
    return Upkeep(removed, kept_since, before, _wal_bytes(store.path), bool(busy))
