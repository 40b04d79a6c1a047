"""What went wrong with the store, in four classes, each with SQLite's (or the system's) own words for the cause.

- busy: another program holds the write lock longer than the busy timeout ("database is locked"): wait and
  retry, never move the file aside;
- full: the disk or the database's budget is full ("database or disk is full"): buffer, thin, retry;
- corrupt: the file is not a database, is malformed, truncated, replaced or gone: move it aside, start a
  fresh one and restore it from memory or from the safety copy;
- unavailable: the file or its directory cannot be opened or written (read-only, permissions, I/O errors):
  run from memory and the safety copy, retry.
"""

from __future__ import annotations

import errno
import sqlite3
from dataclasses import dataclass

from edge.storage.schema import NewerSchemaError

BUSY = "busy"
FULL = "full"
CORRUPT = "corrupt"
UNAVAILABLE = "unavailable"
FAULT_CLASSES = (BUSY, FULL, CORRUPT, UNAVAILABLE)

#: SQLite primary result codes (the low byte of an extended code), by class.
_SQLITE_CLASSES: dict[int, str] = {
    5: BUSY,  # SQLITE_BUSY
    6: BUSY,  # SQLITE_LOCKED
    13: FULL,  # SQLITE_FULL
    11: CORRUPT,  # SQLITE_CORRUPT
    26: CORRUPT,  # SQLITE_NOTADB
    3: UNAVAILABLE,  # SQLITE_PERM
    8: UNAVAILABLE,  # SQLITE_READONLY
    10: UNAVAILABLE,  # SQLITE_IOERR
    14: UNAVAILABLE,  # SQLITE_CANTOPEN
    23: UNAVAILABLE,  # SQLITE_AUTH
}
_ERRNO_CLASSES: dict[int, str] = {errno.ENOSPC: FULL, errno.EDQUOT: FULL}


@dataclass(frozen=True, slots=True)
class StoreFault:
    """One store fault: its class, its real cause and what the store was doing."""

    kind: str
    cause: str
    op: str

    def describe(self) -> str:
        """'database or disk is full (full, while committing)'."""
        return f"{self.cause} ({self.kind}, while {self.op})"


class FileProblem(Exception):
    """The database file is gone, replaced, truncated or no longer starts like a database."""


def classify(exc: BaseException, op: str) -> StoreFault:
    """The class and cause of an exception raised by the store while doing `op`."""
    if isinstance(exc, FileProblem):
        return StoreFault(CORRUPT, str(exc), op)
    if isinstance(exc, NewerSchemaError):
        return StoreFault(CORRUPT, str(exc), op)
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        kind = _SQLITE_CLASSES.get(code & 0xFF, UNAVAILABLE) if isinstance(code, int) else UNAVAILABLE
        return StoreFault(kind, str(exc) or type(exc).__name__, op)
    if isinstance(exc, OSError):
        kind = _ERRNO_CLASSES.get(exc.errno or 0, UNAVAILABLE)
        return StoreFault(kind, exc.strerror or str(exc), op)
    return StoreFault(UNAVAILABLE, f"{type(exc).__name__}: {exc}", op)
