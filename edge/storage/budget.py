"""The disk budget: the database file's page cap, the write-ahead log's share, and the pages in use."""

from __future__ import annotations

import sqlite3

#: Share of a disk budget left to the write-ahead log (the rest caps the database file itself).
WAL_SHARE = 8
#: SQLite's default size of the write-ahead log before it is folded back (pages).
WAL_AUTOCHECKPOINT_PAGES = 1000
#: The least of a budget left to the write-ahead log: an ordinary commit takes a dozen pages of it.
MIN_WAL_BYTES = 256 * 1024
#: The most readings (or events) one transaction writes; and what one may take in the log, counted
#: generously (row, index entries, page headers, pages half full).
CHUNK_ROWS = 10_000
WAL_BYTES_PER_READING = 300
WAL_BYTES_PER_EVENT = 600


class PageStats(tuple[int, int, int, int]):
    """(page_count, freelist_count, page_size, max_page_count) of an open database.

    The budget is judged against `file_cap_bytes` of the configured budget, never against SQLite's page cap
    of the moment (something else may have lowered it, e.g. the simulation's full disk).
    """

    @property
    def used_bytes(self) -> int:
        """Bytes of pages holding data (the file's size less its free pages)."""
        return (self[0] - self[1]) * self[2]


def wal_share_bytes(budget_bytes: int, page_size: int) -> int:
    """The part of a budget left to the write-ahead log."""
    return max(budget_bytes // WAL_SHARE, MIN_WAL_BYTES, 16 * page_size)


def file_cap_bytes(budget_bytes: int, page_size: int) -> int:
    """The most the database file itself may take of a budget: whole pages, the log's share left out."""
    return max(1, (budget_bytes - wal_share_bytes(budget_bytes, page_size)) // page_size) * page_size


def apply_budget(conn: sqlite3.Connection, budget_bytes: int) -> tuple[int, int]:
    """Cap the file at the budget less the log's share, and keep the log within that share: it is folded
    back past a quarter of it, and a transaction writes at most the readings, and the events, that fill
    another quarter each (returned: readings, events per transaction)."""
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    wal_bytes = wal_share_bytes(budget_bytes, page_size)
    conn.execute(f"PRAGMA max_page_count = {file_cap_bytes(budget_bytes, page_size) // page_size}")
    conn.execute(f"PRAGMA journal_size_limit = {wal_bytes}")
    conn.execute(f"PRAGMA wal_autocheckpoint = {max(1, min(WAL_AUTOCHECKPOINT_PAGES, wal_bytes // page_size // 4))}")
    quarter = wal_bytes // 4
    return min(CHUNK_ROWS, quarter // WAL_BYTES_PER_READING), min(CHUNK_ROWS, quarter // WAL_BYTES_PER_EVENT)
