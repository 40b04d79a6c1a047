"""The link's side of the outbox: which batches to publish next, what an ack lets go, and the clock offsets.

The agent's store copies every reading and event into the `outbox` table (edge/storage/outbox_rows.py);
this class reads it on its own connection, in the link's thread only. Batches go event lane first, then
totals, then raw readings; each chains after the previous one sent in its lane, and at most `window`
batches are in flight unacknowledged. A row is deleted only when the fleet's ack covers it.
"""

from __future__ import annotations

import math
import sqlite3
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from edge.link.outbox_batches import (
    ROW_COLUMNS,
    OutgoingBatch,
    Row,
    Unsendable,
    build_batch,
    estimated_bytes,
)
from edge.runtime.clock import Clock
from edge.storage.outbox_rows import EVENT, LANE_IDS, LANE_NAMES, append, body_text
from edge.storage.outbox_thin import lane_sizes
from edge.storage.schema import migrate, rollback_quietly
from fleet import protocol

__all__ = ["Outbox", "OutgoingBatch"]

DEFAULT_AGES_S = {"event": 0.0, "total": 30.0, "raw": 60.0}
#: Rows deleted per transaction when an ack lets them go (short transactions: the agent writes too).
ACK_CHUNK_ROWS = 5000
#: A learned clock offset is replaced when the clock has moved by more than this against the monotonic one.
OFFSET_TOLERANCE_S = 2.0
BUSY_TIMEOUT_MS = 5000


class Outbox:
    """The outbox as the link uses it: due batches, acks, restarts, clock offsets, sizes."""

    def __init__(
        self,
        path: Path,
        *,
        device: str,
        clock: Clock,
        max_batch_bytes: int = 200_000,
        max_batch_records: int = 5000,
        ages_s: Mapping[str, float] | None = None,
        window: int = 8,
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
    ) -> None:
        ages = dict(DEFAULT_AGES_S if ages_s is None else ages_s)
        if not isinstance(device, str) or protocol.DEVICE_PATTERN.fullmatch(device) is None:
            raise ValueError(f"device id {device!r} is not one the protocol takes")
        if not 1024 <= max_batch_bytes <= protocol.MAX_PAYLOAD_BYTES:
            raise ValueError(f"max_batch_bytes must be 1024..{protocol.MAX_PAYLOAD_BYTES}, got {max_batch_bytes}")
        if not 1 <= max_batch_records <= protocol.MAX_RECORDS:
            raise ValueError(f"max_batch_records must be 1..{protocol.MAX_RECORDS}, got {max_batch_records}")
        if window < 1:
            raise ValueError(f"window must be at least 1, got {window}")
        if set(ages) != set(LANE_NAMES) or not all(math.isfinite(a) and a >= 0 for a in ages.values()):
            raise ValueError(f"ages_s must give each lane {LANE_NAMES} a finite age >= 0, got {ages}")
        self.path, self.device, self.clock = Path(path), device, clock
        self.max_batch_bytes, self.max_batch_records, self.window = max_batch_bytes, max_batch_records, window
        self.ages_s = {LANE_IDS[name]: float(age) for name, age in ages.items()}
        # Made in one thread (the agent's start), used in the link's only: the check would refuse the move.
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=busy_timeout_ms / 1000,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn
        self._cursor: dict[int, int] = {}
        self._in_flight: deque[OutgoingBatch] = deque()
        self.peak_bytes = 0
        #: Send every record at once, whatever its lane's age (the box is stopping and flushes its outbox).
        self.eager = False
        #: Records found unsendable and reported thinned (a hand-edited database).
        self.unsendable = 0

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection (raises once closed)."""
        if self._conn is None:
            raise RuntimeError(f"outbox {self.path} is closed")
        return self._conn

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sending ----------------------------------------------------------------------------------

    def _acked(self) -> dict[int, int]:
        return {int(lane): int(n) for lane, n in self.conn.execute("SELECT lane, acked_seq FROM outbox_lanes")}

    def offsets(self) -> dict[str, float]:
        """The clock offsets learned per boot (wall = mono + offset)."""
        return {str(boot): float(o) for boot, o in self.conn.execute("SELECT boot, offset_s FROM clock_offsets")}

    @property
    def in_flight(self) -> int:
        """Batches sent and not yet acknowledged."""
        return len(self._in_flight)

    def due_batches(self, limit: int) -> list[OutgoingBatch]:
        """The next batches to publish (at most `limit`, and `window` in flight in all), event lane first."""
        acked = self._acked()
        self._in_flight = deque(b for b in self._in_flight if b.seq_last > acked[LANE_IDS[b.lane]])
        self._note_size()
        out: list[OutgoingBatch] = []
        offsets = self.offsets()
        while len(out) < limit and len(self._in_flight) < self.window:
            batch = None
            for lane in sorted(self.ages_s):
                batch = self._next(lane, max(self._cursor.get(lane, 0), acked[lane]), offsets)
                if batch is not None:
                    break
            if batch is None:
                break
            self._cursor[LANE_IDS[batch.lane]] = batch.seq_last
            self._in_flight.append(batch)
            out.append(batch)
        return out

    def _next(self, lane: int, after: int, offsets: Mapping[str, float]) -> OutgoingBatch | None:
        rows: list[Row] = self.conn.execute(
            f"SELECT {ROW_COLUMNS} FROM outbox WHERE lane = ? AND seq > ? ORDER BY seq LIMIT ?",
            (lane, after, self.max_batch_records),
        ).fetchall()
        if not rows or not self._due(lane, rows):
            return None
        try:
            return build_batch(self.device, self.clock.boot_id(), lane, after, rows, offsets=offsets,
                               synced=self.clock.synced(), sent_at=self.clock.now().timestamp(),
                               max_batch_bytes=self.max_batch_bytes)
        except Unsendable as bad:
            self._report_unsendable(bad)
            return self._next(lane, after, offsets)

    def _due(self, lane: int, rows: list[Row]) -> bool:
        """A lane is due when a batch is full, or its oldest unsent record is `ages_s` old (any of a past boot)."""
        if self.eager or len(rows) >= self.max_batch_records or self.ages_s[lane] <= 0:
            return True
        if sum(estimated_bytes(row) for row in rows) >= self.max_batch_bytes:
            return True
        boot, mono_s = rows[0][1], rows[0][2]
        return boot != self.clock.boot_id() or self.clock.monotonic() - mono_s >= self.ages_s[lane]

    def _report_unsendable(self, bad: Unsendable) -> None:
        """Remove a record no message can carry, stated in a `thinned` record like any loss."""
        boot, mono_s, synced = self.clock.boot_id(), self.clock.monotonic(), self.clock.synced()
        body = body_text("thinned", {"lane": LANE_NAMES[bad.lane], "seq_from": bad.seq, "seq_to": bad.seq,
                                     "count": 1, "reason": str(bad)})
        self._write(lambda conn: (
            conn.execute("DELETE FROM outbox WHERE lane = ? AND seq = ?", (bad.lane, bad.seq)),
            conn.execute("UPDATE outbox_lanes SET thinned = thinned + 1 WHERE lane = ?", (bad.lane,)),
            append(conn, [(EVENT, boot, mono_s, self.clock.now().timestamp(), int(synced), "thinned", body)]),
        ))
        self.unsendable += 1

    def restart(self) -> None:
        """Forget what was sent (a reconnect, an ack that did not come): next, each lane starts after its ack."""
        self._cursor.clear()
        self._in_flight.clear()

    # -- acknowledgements -------------------------------------------------------------------------

    def apply_ack(self, ack: protocol.Ack) -> int:
        """Delete what the fleet holds for good (never going back on an earlier ack); the rows deleted.

        An ack past every seq this box gave (its database was started afresh) moves its rows, unsent, to
        seqs after the ack, so that none is taken for one the fleet already holds.
        """
        deleted = 0
        for name, lane in LANE_IDS.items():
            wanted = int(ack.acked.get(name, 0))
            last, stored = self.conn.execute(
                "SELECT last_seq, acked_seq FROM outbox_lanes WHERE lane = ?", (lane,)).fetchone()
            if wanted > last:
                self._renumber(lane, wanted)
                continue
            if wanted <= stored:
                wanted = stored
            else:
                self._write(lambda conn, lane=lane, wanted=wanted: conn.execute(
                    "UPDATE outbox_lanes SET acked_seq = max(acked_seq, ?) WHERE lane = ?", (wanted, lane)))
            deleted += self._delete_upto(lane, wanted)
        return deleted

    def _delete_upto(self, lane: int, upto: int) -> int:
        deleted = 0
        while True:
            first = self.conn.execute("SELECT min(seq) FROM outbox WHERE lane = ?", (lane,)).fetchone()[0]
            if first is None or first > upto:
                return deleted
            hi = min(upto, int(first) + ACK_CHUNK_ROWS - 1)
            cursor = self._write(lambda conn, hi=hi: conn.execute(
                "DELETE FROM outbox WHERE lane = ? AND seq <= ?", (lane, hi)))
            deleted += max(0, cursor.rowcount)

    def follow(self, acked: Mapping[str, int]) -> None:
        """This database replaced one whose records the fleet holds up to `acked`: every row of it is new, so each
        lane's rows move to seqs after the fleet's (none is taken for one it holds, or deleted as acked)."""
        for name, lane in LANE_IDS.items():
            stored = self.conn.execute("SELECT acked_seq FROM outbox_lanes WHERE lane = ?", (lane,)).fetchone()[0]
            if int(acked.get(name, 0)) > int(stored):
                self._renumber(lane, int(acked[name]), fresh_file=True)

    def _renumber(self, lane: int, acked: int, *, fresh_file: bool = False) -> None:
        """Move a lane's rows to seqs after `acked` (the fleet's, past this database's last seq, or past every
        seq of the file this one replaced)."""
        def move(conn: sqlite3.Connection) -> None:
            last, stored = conn.execute("SELECT last_seq, acked_seq FROM outbox_lanes WHERE lane = ?",
                                        (lane,)).fetchone()
            if acked <= (stored if fresh_file else last):
                return
            shift = acked - stored
            conn.execute("UPDATE outbox SET seq = -(seq + ?) WHERE lane = ?", (shift, lane))
            conn.execute("UPDATE outbox SET seq = -seq WHERE lane = ? AND seq < 0", (lane,))
            conn.execute("UPDATE outbox_lanes SET last_seq = ?, acked_seq = ? WHERE lane = ?",
                         (last + shift, acked, lane))
        self._write(move)
        self._cursor.pop(lane, None)
        self._in_flight = deque(b for b in self._in_flight if LANE_IDS[b.lane] != lane)

    def _write(self, work: Any) -> Any:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            rollback_quietly(conn)
            raise
        return result

    # -- clock ------------------------------------------------------------------------------------

    def learn_clock(self) -> bool:
        """While the clock is synchronised, keep this boot's offset (wall - mono); whether it was (re)learned."""
        if not self.clock.synced():
            return False
        wall_s, mono_s, boot = self.clock.now().timestamp(), self.clock.monotonic(), self.clock.boot_id()
        offset = wall_s - mono_s
        row = self.conn.execute("SELECT offset_s FROM clock_offsets WHERE boot = ?", (boot,)).fetchone()
        if row is not None and abs(float(row[0]) - offset) <= OFFSET_TOLERANCE_S:
            return False
        self._write(lambda conn: conn.execute(
            "INSERT INTO clock_offsets (boot, offset_s, learned_wall_s) VALUES (?, ?, ?) ON CONFLICT (boot) "
            "DO UPDATE SET offset_s = excluded.offset_s, learned_wall_s = excluded.learned_wall_s",
            (boot, offset, wall_s)))
        return True

    # -- sizes ------------------------------------------------------------------------------------

    def _note_size(self) -> int:
        total = sum(size.bytes for size in lane_sizes(self.conn).values())
        self.peak_bytes = max(self.peak_bytes, total)
        return total

    def stats(self) -> dict[str, Any]:
        """Rows and estimated bytes per lane, acked and last seqs, thinned counts, peak bytes, batches in flight."""
        sizes = lane_sizes(self.conn)
        lanes = {}
        for lane, last, acked, thinned in self.conn.execute(
                "SELECT lane, last_seq, acked_seq, thinned FROM outbox_lanes ORDER BY lane"):
            size = sizes[lane]
            lanes[LANE_NAMES[lane]] = {"rows": size.rows, "bytes": size.bytes, "last_seq": int(last),
                                       "acked_seq": int(acked), "thinned": int(thinned)}
        total = sum(size.bytes for size in sizes.values())
        self.peak_bytes = max(self.peak_bytes, total)
        return {"lanes": lanes, "rows": sum(s.rows for s in sizes.values()), "bytes": total,
                "peak_bytes": self.peak_bytes, "in_flight": len(self._in_flight), "unsendable": self.unsendable}
