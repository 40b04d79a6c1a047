"""Where the database lives: whether the agent can keep it there, its companions' paths, its file watched."""

from __future__ import annotations

import getpass
import hashlib
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _can_write_in(directory: Path) -> str | None:
    """Try what SQLite will do there: create a file (then remove it). None when it works."""
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".hameau-probe-"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def db_path_mistake(path: Path) -> str | None:
    """Why `path` cannot name a database file at all (a directory, or a file where a directory must be)."""
    if path.is_dir():
        return f"{path} is a directory, not a database file"
    if path.exists() and not path.is_file():  # SQLite would wait on a FIFO for ever
        return f"{path} is not a regular file (a FIFO, socket or device), not a database file"
    directory = path.parent
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"cannot create {directory}: {existing} is not a directory"
    return None


def db_place_problem(path: Path) -> str | None:
    """Why the database cannot be kept at `path` by this user (None: it can).

    SQLite in WAL mode writes two files beside the database, so its directory must be writable too;
    a directory not there yet must be creatable. Only a `db_path_mistake` stops the agent: in a place it
    cannot write now (a card gone read-only) it runs from memory and its safety copy, and retries.
    """
    mistake = db_path_mistake(path)
    if mistake is not None:
        return mistake
    directory = path.parent
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    why = _can_write_in(existing)
    if why is not None:
        what = f"{directory}" if existing == directory else f"cannot create {directory}: {existing}"
        return f"{what} is not writable by user {_user()} ({why})"
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        return f"{path} cannot be read and written by user {_user()}"
    return None


#: What every SQLite database file starts with.
SQLITE_MAGIC = b"SQLite format 3\x00"
#: The files SQLite keeps for one database in WAL mode, by suffix.
DB_SUFFIXES = ("", "-wal", "-shm")


def safety_copy_path(db_path: Path) -> Path:
    """Where the small safety copy of a database is kept: beside it."""
    return db_path.with_name(db_path.name + ".safety.json")


def runtime_status_path(db_path: Path) -> Path:
    """Where the agent keeps its status while its database cannot take it: in RAM, named after the database."""
    digest = hashlib.sha256(str(db_path.absolute()).encode("utf-8")).hexdigest()[:16]
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())
    return base / f"hameau-status-{digest}.json"


def move_aside(db_path: Path, at: datetime) -> Path | None:
    """Rename a broken database (and its -wal, -shm) to `<name>.broken-<UTC time>`; the file's new path.

    None when there was no database file to move (its -wal and -shm, if any, are moved all the same).
    """
    stamp = at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = db_path.with_name(f"{db_path.name}.broken-{stamp}")
    n = 1
    while any(target.with_name(target.name + s).exists() for s in DB_SUFFIXES):
        n += 1
        target = db_path.with_name(f"{db_path.name}.broken-{stamp}-{n}")
    found = db_path.exists()
    for suffix in DB_SUFFIXES:
        source = db_path.with_name(db_path.name + suffix)
        if source.exists():
            source.rename(target.with_name(target.name + suffix))
    return target if found else None


class DbFileWatch:
    """Watches a database file from beside SQLite: still there, the same file, not cut short, still a database.

    It holds its own read-only descriptor for as long as SQLite has the file open, and closes it only after
    SQLite has: closing a descriptor of the file earlier would drop SQLite's POSIX locks on it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._inode = os.fstat(self._fd).st_ino
        self._expected_bytes = 0

    def problem(self) -> str | None:
        """What is wrong with the file now (None: nothing seen)."""
        if self._fd is None:
            return None
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            return f"the database file {self.path} is gone"
        if inode != self._inode:
            return f"the database file {self.path} was replaced by another file"
        size = os.fstat(self._fd).st_size
        head = os.pread(self._fd, 100, 0)
        if len(head) == 100:
            if head[:16] != SQLITE_MAGIC:
                return "file is not a database (its header is no longer SQLite's)"
            page_size = int.from_bytes(head[16:18], "big")
            page_size = 65536 if page_size == 1 else page_size
            if head[24:28] == head[92:96]:  # the in-header page count is valid
                self._expected_bytes = max(self._expected_bytes, int.from_bytes(head[28:32], "big") * page_size)
        if size < self._expected_bytes:
            return f"the database file was cut short ({size} B of {self._expected_bytes} B)"
        return None

    def close(self) -> None:
        """Close the descriptor (after SQLite closed its connection)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
