"""The embedded fleet store: one SQLite file (WAL, synchronous FULL), each batch in one transaction."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fleet import protocol
from fleet.errors import StoreError
from fleet.store.api import (
    FUTURE_SLACK_S,
    TRUSTED_FROM_S,
    DeviceState,
    StoreCounts,
    StoredRecord,
    ThinnedRange,
)
from fleet.store.ranges import subtract, uncovered
from fleet.store.rows import batch_rows
from fleet.store.schema import migrate

_INSERT_RECORD = "INSERT OR IGNORE INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_INSERT_THINNED = "INSERT OR IGNORE INTO thinned VALUES (?,?,?,?,?,?,?)"
_FIX_TS = (
    "UPDATE records INDEXED BY records_untrusted SET ts = mono_s + :offset"
    " WHERE device = :device AND boot = :boot AND ts IS NULL"
    " AND mono_s + :offset BETWEEN :lo AND :hi"
)
_DEVICE_COLUMNS = (
    "id, first_seen, last_seen, online, online_since, boot, version, config_version,"
    " batches, records_new, records_resent"
)


class SqliteStore:
    """The fleet store in one SQLite file; one thread at a time uses it (the serve writer thread)."""

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 10.0) -> None:
        self.path = Path(path)
        try:
            self._conn = sqlite3.connect(
                self.path, isolation_level=None, timeout=busy_timeout_s, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open fleet store {self.path}: {exc}") from None
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            migrate(self._conn)
        except sqlite3.Error as exc:
            self._conn.close()
            raise StoreError(f"cannot use fleet store {self.path}: {exc}") from None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken with the write lock up front; rolled back on any error."""
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield conn
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise StoreError(f"fleet store {self.path}: {exc}") from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the error being handled says what went wrong

    def store_batch(self, batch: protocol.Batch, received_at: float) -> protocol.Ack:
        """Store a batch in one transaction (idempotent), advance the lanes' marks, return the ack."""
        rows = batch_rows(batch, received_at)
        device, lane = batch.device, batch.lane
        with self._write() as conn:
            before = conn.total_changes
            conn.executemany(_INSERT_RECORD, rows.records)
            new = conn.total_changes - before
            conn.executemany(_INSERT_THINNED, rows.thinned)
            conn.execute(
                "INSERT OR IGNORE INTO batch_ranges VALUES (?,?,?,?,?)",
                (device, lane, batch.after, batch.seq_last, received_at),
            )
            self._advance(conn, device, lane)
            for boot, offset_s in rows.offsets.items():
                conn.execute(
                    "INSERT INTO clock_offsets VALUES (?,?,?,?) ON CONFLICT (device, boot) DO UPDATE"
                    " SET offset_s = excluded.offset_s, learned_at = excluded.learned_at",
                    (device, boot, offset_s, received_at),
                )
            self._fix_times(conn, device, set(rows.offsets) | rows.untrusted_boots, received_at)
            conn.execute(
                "INSERT INTO devices (id, first_seen, last_seen, boot, batches, records_new, records_resent)"
                " VALUES (?,?,?,?,1,?,?) ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen,"
                " boot = excluded.boot, batches = batches + 1,"
                " records_new = records_new + excluded.records_new,"
                " records_resent = records_resent + excluded.records_resent",
                (device, received_at, received_at, batch.boot, new, len(rows.records) - new),
            )
            acked = self._acked(conn, device)
        return protocol.Ack(device=device, acked=acked)

    @staticmethod
    def _advance(conn: sqlite3.Connection, device: str, lane: str) -> None:
        """Chain ranges: while a stored range has after <= hwm < seq_last, hwm = seq_last (spec)."""
        row = conn.execute("SELECT hwm FROM lanes WHERE device = ? AND lane = ?", (device, lane)).fetchone()
        hwm = 0 if row is None else int(row[0])
        start = hwm
        while True:
            reach = conn.execute(
                "SELECT max(seq_last) FROM batch_ranges WHERE device = ? AND lane = ? AND after <= ?"
                " AND seq_last > ?",
                (device, lane, hwm, hwm),
            ).fetchone()[0]
            if reach is None:
                break
            hwm = int(reach)
        if row is None or hwm != start:
            conn.execute(
                "INSERT INTO lanes VALUES (?,?,?) ON CONFLICT (device, lane) DO UPDATE SET hwm = excluded.hwm",
                (device, lane, hwm),
            )
        # Ranges wholly under the mark can never move it again.
        conn.execute(
            "DELETE FROM batch_ranges WHERE device = ? AND lane = ? AND seq_last <= ?", (device, lane, hwm)
        )

    @staticmethod
    def _fix_times(conn: sqlite3.Connection, device: str, boots: set[str], received_at: float) -> None:
        """Give untrusted rows of boots with a known offset ts = mono_s + offset, when that is plausible."""
        for boot in sorted(boots):
            row = conn.execute(
                "SELECT offset_s FROM clock_offsets WHERE device = ? AND boot = ?", (device, boot)
            ).fetchone()
            if row is not None:
                conn.execute(
                    _FIX_TS,
                    {
                        "offset": row[0],
                        "device": device,
                        "boot": boot,
                        "lo": TRUSTED_FROM_S,
                        "hi": received_at + FUTURE_SLACK_S,
                    },
                )

    @staticmethod
    def _acked(conn: sqlite3.Connection, device: str) -> dict[str, int]:
        acked = dict.fromkeys(protocol.LANES, 0)
        for lane, hwm in conn.execute("SELECT lane, hwm FROM lanes WHERE device = ?", (device,)):
            acked[lane] = int(hwm)
        return acked

    def store_status(self, status: protocol.Status, received_at: float) -> DeviceState:
        """Record a box's online/offline state (since when it holds), boot, version and config version."""
        online = 1 if status.state == "online" else 0
        with self._write() as conn:
            conn.execute(
                "INSERT INTO devices (id, first_seen, last_seen, online, online_since, status_at, boot, version,"
                " config_version) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET"
                " last_seen = excluded.last_seen,"
                " online_since = CASE WHEN online IS excluded.online THEN online_since"
                " ELSE excluded.online_since END,"
                " online = excluded.online, status_at = excluded.status_at, boot = excluded.boot,"
                " version = excluded.version, config_version = excluded.config_version",
                (
                    status.device, received_at, received_at, online, received_at, status.at,
                    status.boot, status.version, status.config_version,
                ),
            )
        state = self.device(status.device)
        assert state is not None  # just written
        return state

    def count_reject(self, device: str, reason: str, detail: str, at: float) -> None:
        """Count a refused message against its device ('' when unknown) and reason."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO rejects VALUES (?,?,1,?,?) ON CONFLICT (device, reason) DO UPDATE SET"
                " count = count + 1, last_at = excluded.last_at, last_detail = excluded.last_detail",
                (device, reason, at, detail[:1024]),
            )

    def acked(self, device: str) -> dict[str, int]:
        """The high-water mark of each lane of a device (0 for a lane never seen)."""
        return self._acked(self._conn, device)

    def records(self, device: str, lane: str) -> list[StoredRecord]:
        """Every stored record of a device's lane, in seq order."""
        cursor = self._conn.execute(
            "SELECT device, lane, seq, boot, mono_s, wall_s, ts, clock, type, body, received_at FROM records"
            " WHERE device = ? AND lane = ? ORDER BY seq",
            (device, lane),
        )
        return [_record(row) for row in cursor]

    def missing(self, device: str, lane: str) -> list[tuple[int, int]]:
        """Inclusive ranges of seqs up to the lane's mark neither stored nor reported thinned."""
        hwm = self.acked(device).get(lane, 0)
        seqs = (
            row[0]
            for row in self._conn.execute(
                "SELECT seq FROM records WHERE device = ? AND lane = ? AND seq <= ? ORDER BY seq",
                (device, lane, hwm),
            )
        )
        covers = [(t.seq_from, t.seq_to) for t in self.thinned(device) if t.lane == lane]
        return subtract(uncovered(seqs, hwm), covers)

    def thinned(self, device: str) -> list[ThinnedRange]:
        """The thinned ranges a device reported, in the order of its reports."""
        cursor = self._conn.execute(
            "SELECT lane, seq_from, seq_to, count, reason FROM thinned WHERE device = ? ORDER BY event_seq",
            (device,),
        )
        return [ThinnedRange(*row) for row in cursor]

    def device(self, device: str) -> DeviceState | None:
        """One device's state, or None if the fleet never heard of it."""
        row = self._conn.execute(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?", (device,)).fetchone()
        if row is None:
            return None
        values: list[Any] = list(row)
        values[3] = None if row[3] is None else bool(row[3])
        return DeviceState(*values)

    def rejects(self) -> dict[tuple[str, str], int]:
        """Refused messages counted per (device, reason)."""
        return {(d, r): int(n) for d, r, n in self._conn.execute("SELECT device, reason, count FROM rejects")}

    def counts(self, device: str | None = None) -> StoreCounts:
        """Totals over the store, or over one device."""
        where, args = ("WHERE device = ?", (device,)) if device is not None else ("", ())
        conn = self._conn
        records = dict.fromkeys(protocol.LANES, 0)
        for lane, n in conn.execute(f"SELECT lane, count(*) FROM records {where} GROUP BY lane", args):
            records[lane] = int(n)
        untrusted_where = f"{where} AND ts IS NULL" if where else "WHERE ts IS NULL"
        return StoreCounts(
            devices=int(
                conn.execute(
                    "SELECT count(*) FROM devices" + (" WHERE id = ?" if device is not None else ""), args
                ).fetchone()[0]
            ),
            records=records,
            untrusted=int(conn.execute(f"SELECT count(*) FROM records {untrusted_where}", args).fetchone()[0]),
            thinned=int(conn.execute(f"SELECT coalesce(sum(count), 0) FROM thinned {where}", args).fetchone()[0]),
            rejects=int(conn.execute(f"SELECT coalesce(sum(count), 0) FROM rejects {where}", args).fetchone()[0]),
        )

    def close(self) -> None:
        """Release the database (an open transaction is rolled back by SQLite)."""
        self._conn.close()


def _record(row: tuple[Any, ...]) -> StoredRecord:
    device, lane, seq, boot, mono_s, wall_s, ts, clock, type_, body, received_at = row
    return StoredRecord(
        device=device, lane=lane, seq=int(seq), boot=boot, mono_s=mono_s, wall_s=wall_s, ts=ts,
        clock=clock, type=type_, body=json.loads(body), received_at=received_at,
    )
