"""The fleet store on SQL (SQLite or PostgreSQL through `Database`): each batch in one transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fleet import protocol
from fleet.store.api import (
    FUTURE_SLACK_S,
    TRUSTED_FROM_S,
    DeviceState,
    IngestObserver,
    StoreCounts,
    StoredRecord,
    ThinnedRange,
)
from fleet.store.db import Database, PostgresDatabase, SqliteDatabase
from fleet.store.ranges import subtract, uncovered
from fleet.store.rows import batch_rows
from fleet.store.schema import migrate

_INSERT_RECORD = "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
_INSERT_THINNED = "INSERT INTO thinned VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"
_FIX_TS = (
    "UPDATE records SET ts = mono_s + ? WHERE device = ? AND boot = ? AND ts IS NULL"
    " AND mono_s + ? BETWEEN ? AND ?"
)
_DEVICE_COLUMNS = (
    "id, first_seen, last_seen, online, online_since, boot, version, config_version,"
    " batches, records_new, records_resent"
)


class SqlStore:
    """The fleet store on one database connection; one thread at a time uses it (the serve writer thread)."""

    def __init__(self, db: Database, observers: Sequence[IngestObserver] = ()) -> None:
        self.db = db
        self.observers = tuple(observers)
        try:
            migrate(db)
            db.refresh_statistics()
        except BaseException:
            db.close()
            raise

    def store_batch(self, batch: protocol.Batch, received_at: float) -> protocol.Ack:
        """Store a batch in one transaction (idempotent), advance the lanes' marks, return the ack."""
        rows = batch_rows(batch, received_at)
        device, lane = batch.device, batch.lane
        with self.db.transaction() as conn:
            conn.lock(f"device:{device}")
            new = conn.executemany(_INSERT_RECORD, rows.records)
            conn.executemany(_INSERT_THINNED, rows.thinned)
            conn.execute(
                "INSERT INTO batch_ranges VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
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
                " boot = excluded.boot, batches = devices.batches + 1,"
                " records_new = devices.records_new + excluded.records_new,"
                " records_resent = devices.records_resent + excluded.records_resent",
                (device, received_at, received_at, batch.boot, new, len(rows.records) - new),
            )
            acked = self._acked(conn, device)
            for observer in self.observers:
                observer.on_batch(conn, batch, received_at)
        return protocol.Ack(device=device, acked=acked)

    @staticmethod
    def _advance(conn: Database, device: str, lane: str) -> None:
        """Chain ranges: while a stored range has after <= hwm < seq_last, hwm = seq_last (spec)."""
        row = conn.one("SELECT hwm FROM lanes WHERE device = ? AND lane = ?", (device, lane))
        hwm = 0 if row is None else int(row[0])
        start = hwm
        while True:
            reach = conn.scalar(
                "SELECT max(seq_last) FROM batch_ranges WHERE device = ? AND lane = ? AND after <= ?"
                " AND seq_last > ?",
                (device, lane, hwm, hwm),
            )
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
    def _fix_times(conn: Database, device: str, boots: set[str], received_at: float) -> None:
        """Give untrusted rows of boots with a known offset ts = mono_s + offset, when that is plausible."""
        for boot in sorted(boots):
            offset = conn.scalar("SELECT offset_s FROM clock_offsets WHERE device = ? AND boot = ?", (device, boot))
            if offset is not None:
                conn.execute(
                    _FIX_TS, (offset, device, boot, offset, TRUSTED_FROM_S, received_at + FUTURE_SLACK_S)
                )

    @staticmethod
    def _acked(conn: Database, device: str) -> dict[str, int]:
        acked = dict.fromkeys(protocol.LANES, 0)
        for lane, hwm in conn.query("SELECT lane, hwm FROM lanes WHERE device = ?", (device,)):
            acked[lane] = int(hwm)
        return acked

    def store_status(self, status: protocol.Status, received_at: float) -> DeviceState:
        """Record a box's online/offline state (since when it holds), boot, version and config version."""
        online = 1 if status.state == "online" else 0
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO devices (id, first_seen, last_seen, online, online_since, status_at, boot, version,"
                " config_version) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET"
                " last_seen = excluded.last_seen,"
                " online_since = CASE WHEN devices.online IS NOT DISTINCT FROM excluded.online"
                " THEN devices.online_since ELSE excluded.online_since END,"
                " online = excluded.online, status_at = excluded.status_at, boot = excluded.boot,"
                " version = excluded.version, config_version = excluded.config_version",
                (
                    status.device, received_at, received_at, online, received_at, status.at,
                    status.boot, status.version, status.config_version,
                ),
            )
            for observer in self.observers:
                observer.on_status(conn, status, received_at)
        state = self.device(status.device)
        assert state is not None  # just written
        return state

    def count_reject(self, device: str, reason: str, detail: str, at: float) -> None:
        """Count a refused message against its device ('' when unknown) and reason."""
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO rejects VALUES (?,?,1,?,?) ON CONFLICT (device, reason) DO UPDATE SET"
                " count = rejects.count + 1, last_at = excluded.last_at, last_detail = excluded.last_detail",
                (device, reason, at, detail[:1024]),
            )

    def acked(self, device: str) -> dict[str, int]:
        """The high-water mark of each lane of a device (0 for a lane never seen)."""
        return self._acked(self.db, device)

    def records(self, device: str, lane: str) -> list[StoredRecord]:
        """Every stored record of a device's lane, in seq order."""
        rows = self.db.query(
            "SELECT device, lane, seq, boot, mono_s, wall_s, ts, clock, type, body, received_at FROM records"
            " WHERE device = ? AND lane = ? ORDER BY seq",
            (device, lane),
        )
        return [_record(row) for row in rows]

    def missing(self, device: str, lane: str) -> list[tuple[int, int]]:
        """Inclusive ranges of seqs up to the lane's mark neither stored, nor reported thinned, nor retired."""
        hwm = self.acked(device).get(lane, 0)
        seqs = (
            row[0]
            for row in self.db.query(
                "SELECT seq FROM records WHERE device = ? AND lane = ? AND seq <= ? ORDER BY seq",
                (device, lane, hwm),
            )
        )
        covers = [(t.seq_from, t.seq_to) for t in self.thinned(device) if t.lane == lane]
        # What the retention deleted, once rolled up, is not missing either.
        covers += [
            (int(lo), int(hi))
            for lo, hi in self.db.query(
                "SELECT seq_from, seq_to FROM raw_retired WHERE device = ? AND lane = ?", (device, lane)
            )
        ]
        return subtract(uncovered(seqs, hwm), covers)

    def thinned(self, device: str) -> list[ThinnedRange]:
        """The thinned ranges a device reported, in the order of its reports."""
        rows = self.db.query(
            "SELECT lane, seq_from, seq_to, count, reason FROM thinned WHERE device = ? ORDER BY event_seq",
            (device,),
        )
        return [ThinnedRange(row[0], int(row[1]), int(row[2]), int(row[3]), row[4]) for row in rows]

    def device(self, device: str) -> DeviceState | None:
        """One device's state, or None if the fleet never heard of it."""
        row = self.db.one(f"SELECT {_DEVICE_COLUMNS} FROM devices WHERE id = ?", (device,))
        if row is None:
            return None
        values: list[Any] = list(row)
        values[3] = None if row[3] is None else bool(row[3])
        return DeviceState(*values)

    def rejects(self) -> dict[tuple[str, str], int]:
        """Refused messages counted per (device, reason)."""
        return {(d, r): int(n) for d, r, n in self.db.query("SELECT device, reason, count FROM rejects")}

    def counts(self, device: str | None = None) -> StoreCounts:
        """Totals over the store, or over one device."""
        where, args = ("WHERE device = ?", (device,)) if device is not None else ("", ())
        conn = self.db
        records = dict.fromkeys(protocol.LANES, 0)
        for lane, n in conn.query(f"SELECT lane, count(*) FROM records {where} GROUP BY lane", args):
            records[lane] = int(n)
        untrusted_where = f"{where} AND ts IS NULL" if where else "WHERE ts IS NULL"
        return StoreCounts(
            devices=int(
                conn.scalar(
                    "SELECT count(*) FROM devices" + (" WHERE id = ?" if device is not None else ""), args
                )
            ),
            records=records,
            untrusted=int(conn.scalar(f"SELECT count(*) FROM records {untrusted_where}", args)),
            thinned=int(conn.scalar(f"SELECT coalesce(sum(count), 0) FROM thinned {where}", args)),
            rejects=int(conn.scalar(f"SELECT coalesce(sum(count), 0) FROM rejects {where}", args)),
        )

    def close(self) -> None:
        """Release the database (an open transaction is rolled back)."""
        self.db.close()


def _record(row: tuple[Any, ...]) -> StoredRecord:
    device, lane, seq, boot, mono_s, wall_s, ts, clock, type_, body, received_at = row
    return StoredRecord(
        device=device, lane=lane, seq=int(seq), boot=boot, mono_s=mono_s, wall_s=wall_s, ts=ts,
        clock=clock, type=type_, body=json.loads(body), received_at=received_at,
    )


class SqliteStore(SqlStore):
    """The embedded fleet store: one SQLite file (WAL, synchronous FULL)."""

    def __init__(
        self, path: str | Path, observers: Sequence[IngestObserver] = (), *, busy_timeout_s: float = 10.0
    ) -> None:
        self.path = Path(path)
        super().__init__(SqliteDatabase(self.path, busy_timeout_s=busy_timeout_s), observers)


class PostgresStore(SqlStore):
    """The fleet store in a PostgreSQL database (several serve processes may share it)."""

    def __init__(self, url: str, observers: Sequence[IngestObserver] = ()) -> None:
        super().__init__(PostgresDatabase(url), observers)
