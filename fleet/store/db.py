"""One SQL connection, SQLite or PostgreSQL, behind the same small interface the fleet's stores use.

SQL is written once, in the dialect both engines share: `?` placeholders, `ON CONFLICT ... DO NOTHING/UPDATE`
with `excluded.` and table-qualified columns, `IS NOT DISTINCT FROM`, no engine-only hints. DDL says
`{real}`, `{bigint}`, `{bytes}` and `{without_rowid}`, which each dialect fills in (`ddl()`).
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from fleet.errors import StoreError

_PLACEHOLDER = re.compile(r"\?")

#: Column types and table options per dialect, for `Database.ddl`.
_DDL_WORDS: dict[str, dict[str, str]] = {
    "sqlite": {"real": "REAL", "bigint": "INTEGER", "bytes": "BLOB", "without_rowid": "WITHOUT ROWID"},
    "postgresql": {"real": "DOUBLE PRECISION", "bigint": "BIGINT", "bytes": "BYTEA", "without_rowid": ""},
}


class Cursor(Protocol):
    """What both drivers' cursors offer here."""

    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database:
    """A connection to the fleet store's database; one thread at a time uses it."""

    dialect: str = ""
    #: What the store is, for messages (a file path, or a PostgreSQL URL without its password).
    where: str = ""

    def ddl(self, statement: str) -> str:
        """A DDL statement with `{real}`, `{bigint}`, `{bytes}`, `{without_rowid}` filled in for this engine."""
        return statement.format(**_DDL_WORDS[self.dialect])

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; StoreError naming the store on any database error."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement per row; the number of rows inserted, updated or deleted."""
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Every row of a query, as tuples."""
        return [tuple(row) for row in self.execute(sql, params).fetchall()]

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None."""
        row = self.execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (None when there is no row)."""
        row = self.one(sql, params)
        return None if row is None else row[0]

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """One write transaction, rolled back on any error; a database error becomes StoreError."""
        raise NotImplementedError
        yield self  # pragma: no cover

    def lock(self, key: str) -> None:
        """Inside a transaction: serialise with every other writer holding the same key, until it ends."""

    def refresh_statistics(self) -> None:
        """Give the query planner fresh table statistics (PostgreSQL's autovacuum keeps its own)."""

    def close(self) -> None:
        """Release the connection (an open transaction is rolled back)."""
        raise NotImplementedError


class SqliteDatabase(Database):
    """One SQLite file, WAL and synchronous FULL; a write transaction takes the file's write lock up front."""

    dialect = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        try:
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=busy_timeout_s, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open fleet store {self.path}: {exc}") from None
        try:
            self._enter_wal(busy_timeout_s)
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot use fleet store {self.path}: {exc}") from None

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; StoreError naming the file on any database error."""
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StoreError(f"fleet store {self.path}: {exc}") from None

    def _enter_wal(self, busy_timeout_s: float) -> None:
        # Switching a new file to WAL needs its exclusive lock, and SQLite answers BUSY at once (no busy
        # handler) while another connection is opening the same file: retry until the busy timeout.
        deadline = time.monotonic() + busy_timeout_s
        while True:
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.005)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement per row; the number of rows changed."""
        try:
            return max(self._conn.executemany(sql, rows).rowcount, 0)
        except sqlite3.Error as exc:
            raise StoreError(f"fleet store {self.path}: {exc}") from None

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        self.execute("BEGIN IMMEDIATE")
        try:
            yield self
            self.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                try:
                    self._conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the error being handled says what went wrong
            raise

    def refresh_statistics(self) -> None:
        """ANALYZE, sampling at most 400 rows per index (milliseconds on a year of 100 boxes).

        Without statistics, or with those of the store when it was small, SQLite may scan every record where
        an index probe would do."""
        self.execute("PRAGMA analysis_limit = 400")
        self.execute("ANALYZE")

    def close(self) -> None:
        """Close the file."""
        self._conn.close()


class PostgresDatabase(Database):
    """A PostgreSQL connection through psycopg 3 (autocommit outside explicit transactions)."""

    dialect = "postgresql"

    def __init__(self, url: str, *, connect_timeout_s: int = 10) -> None:
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                "--db postgresql://...: the psycopg package is not installed (pip install 'hameau[fleet]')"
            ) from None
        self._psycopg = psycopg
        self.where = redact(url)
        try:
            self._conn = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout_s)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open fleet store {self.where}: {_pg_message(exc)}") from None

    @staticmethod
    def _sql(sql: str) -> str:
        return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; StoreError naming the database on any error."""
        try:
            return self._conn.execute(self._sql(sql), tuple(params))  # type: ignore[return-value]
        except self._psycopg.Error as exc:
            raise StoreError(f"fleet store {self.where}: {_pg_message(exc)}") from None

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        """Run one statement per row (pipelined); the number of rows changed."""
        rows = [tuple(row) for row in rows]
        if not rows:
            return 0
        try:
            with self._conn.cursor() as cursor:
                cursor.executemany(self._sql(sql), rows)
                return max(cursor.rowcount, 0)
        except self._psycopg.Error as exc:
            raise StoreError(f"fleet store {self.where}: {_pg_message(exc)}") from None

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """BEGIN ... COMMIT through psycopg, rolled back on any error."""
        try:
            with self._conn.transaction():
                yield self
        except self._psycopg.Error as exc:
            raise StoreError(f"fleet store {self.where}: {_pg_message(exc)}") from None

    def lock(self, key: str) -> None:
        """A transaction-scoped advisory lock on `key` (PostgreSQL releases it at COMMIT or ROLLBACK)."""
        self.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def redact(url: str) -> str:
    """A database URL with its password replaced by `***`, for logs and messages."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def _pg_message(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
