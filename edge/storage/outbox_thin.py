"""The outbox's disk budget: past it, the oldest records are thinned by a stated policy, and every loss is reported.

The outbox shares the store's file and budget (edge/storage/budget.py): by default it may take
`OUTBOX_SHARE` of the store's budget (half of the default 1024 MB set for a 16 GB card, like the link's
`outbox_budget_mb` default: about 4 million readings at ~120 bytes each, weeks of a village box offline). Its size is estimated cheaply (rows of each lane from its sequence numbers,
bytes from a sample of rows spread over the lane), because the agent's writer checks it every `check_interval_s`.
Past the budget, it is thinned down to `THIN_DOWN_TO` of it, a slice of the oldest rows of one lane per
transaction, in this order:
  1. raw readings (and aggregates), folded per (boot, sensor, name, UTC hour) into `aggregate` records
     appended to the raw lane; 2. the same per UTC day; 3-4. the same for meter totals in the total lane;
  5. the oldest raw records removed; 6. the oldest totals removed; 7. the oldest events removed.
Every slice removed is stated in a `thinned` record of the event lane (lane, seq_from, seq_to, count) and
counted in outbox_lanes.thinned, in the transaction that removes it. The rows of a lane are always one
run of sequence numbers (acks and thinning remove the oldest), so every count is exact.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

from edge.storage.outbox_rows import (
    EVENT,
    LANE_NAMES,
    RAW,
    TOTAL,
    Stamp,
    Unnumbered,
    append,
    body_fields,
    body_text,
)

#: The outbox's share of the store's disk budget when none is given.
OUTBOX_SHARE = 0.5
#: Thin past the budget, down to this share of it.
THIN_DOWN_TO = 0.9
#: Bytes a row takes beyond its boot id and body (key, numbers, type, cell and page overhead), a little
#: generously: measured on SQLite 3.40 with a 36-character boot id, a reading's row takes about 116 bytes
#: on disk (dbstat), of which the boot id 36 and the body about 40.
ROW_OVERHEAD_BYTES = 44
#: Rows sampled per lane, spread evenly over its seqs, to estimate its bytes per row (the newest alone would
#: take a lane whose newest rows are the aggregates a thinning just appended for one of long rows, and thin on).
SAMPLE_ROWS = 256
#: Oldest rows taken per thinning transaction (a slice).
SLICE_ROWS = 5000
#: How often the agent's writer checks the budget.
CHECK_INTERVAL_S = 60.0
#: What one record appended can add to the outbox at most, for the bound that spares a measure (a reading
#: takes about 120 bytes; an event's data is bounded at 32 KiB, but such events are rare: the hourly measure
#: below catches them).
ROW_BOUND_BYTES = 1024
#: The outbox is measured at least this often (monotonic s), bound or not.
MEASURE_EVERY_S = 3600.0
HOUR_S, DAY_S = 3600.0, 86_400.0
#: (lane, what, bucket seconds or None to remove)
STAGES: tuple[tuple[int, str, float | None], ...] = (
    (RAW, "folded hourly", HOUR_S), (RAW, "folded daily", DAY_S), (TOTAL, "folded hourly", HOUR_S),
    (TOTAL, "folded daily", DAY_S), (RAW, "removed", None), (TOTAL, "removed", None), (EVENT, "removed", None),
)


@dataclass(frozen=True, slots=True)
class LaneSize:
    """A lane's rows (first..last seq present) and their estimated bytes."""

    first_seq: int
    last_seq: int
    rows: int
    bytes: int


def lane_sizes(conn: sqlite3.Connection) -> dict[int, LaneSize]:
    """Each lane's rows and estimated bytes (a few index lookups and a sample: cheap at any size)."""
    sizes = {}
    for lane, last in conn.execute("SELECT lane, last_seq FROM outbox_lanes ORDER BY lane").fetchall():
        first = conn.execute("SELECT min(seq) FROM outbox WHERE lane = ?", (lane,)).fetchone()[0]
        if first is None:
            sizes[lane] = LaneSize(int(last) + 1, int(last), 0, 0)
            continue
        rows = int(last) - int(first) + 1
        step = max(1, rows // SAMPLE_ROWS)
        per_row = conn.execute(
            "WITH RECURSIVE picks(seq) AS (SELECT ? UNION ALL SELECT seq + ? FROM picks WHERE seq + ? <= ?) "
            "SELECT avg(length(body) + length(boot)) FROM outbox WHERE lane = ? AND seq IN picks",
            (int(first), step, step, int(last), lane),
        ).fetchone()[0]
        sizes[lane] = LaneSize(int(first), int(last), rows, round(rows * (float(per_row) + ROW_OVERHEAD_BYTES)))
    return sizes


def appended_rows(conn: sqlite3.Connection) -> int:
    """Records ever appended to the outbox, every lane (one read of a three-row table)."""
    return int(conn.execute("SELECT coalesce(sum(last_seq), 0) FROM outbox_lanes").fetchone()[0])


def outbox_bytes(conn: sqlite3.Connection) -> int:
    """The outbox's estimated bytes on disk."""
    return sum(size.bytes for size in lane_sizes(conn).values())


def default_budget_bytes(store_budget_bytes: int) -> int:
    """The outbox's budget when none is configured: its share of the store's."""
    return round(OUTBOX_SHARE * store_budget_bytes)


def _fold(rows: list[tuple], bucket_s: float) -> list[Unnumbered]:
    """Aggregates of reading and aggregate rows (lane, seq, boot, mono, wall, synced, type, body) per
    (boot, clock synced, sensor, name, bucket), oldest bucket first."""
    groups: dict[tuple, list] = {}
    for lane, _, boot, mono, wall, synced, kind, body in rows:
        b = body_fields(kind, body)
        if kind == "reading":
            start, end, lo, mean, hi, n = wall, wall, b["value"], b["value"], b["value"], 1
        else:
            start, end, lo, mean, hi, n = b["from_s"], b["to_s"], b["min"], b["mean"], b["max"], b["count"]
        key = (boot, synced, b["sensor"], b["name"], start // bucket_s)
        g = groups.get(key)
        if g is None:
            groups[key] = [lane, mono, start, end, lo, mean * n, hi, n]
        else:
            g[1], g[2], g[3] = max(g[1], mono), min(g[2], start), max(g[3], end)
            g[4], g[5], g[6], g[7] = min(g[4], lo), g[5] + mean * n, max(g[6], hi), g[7] + n
    folded = []
    for (boot, synced, sensor, name, _), (lane, mono, start, end, lo, total, hi, n) in groups.items():
        body = {"sensor": sensor, "name": name, "from_s": start, "to_s": end, "min": lo, "mean": total / n,
                "max": hi, "count": n}
        folded.append((start, (lane, boot, mono, end, synced, "aggregate", body_text("aggregate", body))))
    return [row for _, row in sorted(folded, key=lambda pair: pair[0])]


def thin_step(conn: sqlite3.Connection, lane: int, bucket_s: float | None, stamp: Stamp, wall_s: float) -> int:
    """Fold or remove the oldest slice of `lane` in the caller's transaction, with its `thinned` record;
    the rows it saved (0: nothing more to gain at this stage)."""
    rows = conn.execute(
        "SELECT lane, seq, boot, mono_s, wall_s, synced, type, body FROM outbox WHERE lane = ? ORDER BY seq LIMIT ?",
        (lane, SLICE_ROWS),
    ).fetchall()
    if not rows:
        return 0
    folded = [] if bucket_s is None else _fold(rows, bucket_s)
    if len(folded) >= len(rows):
        return 0
    seq_from, seq_to = int(rows[0][1]), int(rows[-1][1])
    # Removed first, so that a file with no free page left can take the aggregates in the pages freed.
    conn.execute("DELETE FROM outbox WHERE lane = ? AND seq <= ?", (lane, seq_to))
    count = len(rows)
    what = "folded into aggregates" if folded else "removed"
    reason = (f"outbox over its disk budget: the {count} oldest record(s) of the {LANE_NAMES[lane]} lane {what}"
              + (f" ({len(folded)} aggregate(s) appended)" if folded else ""))
    thinned = body_text("thinned", {"lane": LANE_NAMES[lane], "seq_from": seq_from, "seq_to": seq_to,
                                    "count": count, "reason": reason})
    append(conn, [*folded, (EVENT, stamp[0], stamp[1], wall_s, int(stamp[2]), "thinned", thinned)])
    conn.execute("UPDATE outbox_lanes SET thinned = thinned + ? WHERE lane = ?", (count, lane))
    return count - len(folded) - (lane == EVENT)


class OutboxBudget:
    """The outbox's budget and when the agent's writer next checks it."""

    def __init__(self, budget_bytes: int | None, store_budget_bytes: int, check_interval_s: float = CHECK_INTERVAL_S):
        if budget_bytes is not None and budget_bytes <= 0:
            raise ValueError(f"the outbox budget must be positive, got {budget_bytes} bytes")
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget_bytes(store_budget_bytes)
        self.check_interval_s = check_interval_s
        self.next_check_s = float("-inf")
        #: The last measure: (estimated bytes, records appended until then, monotonic s).
        self.measured: tuple[int, int, float] | None = None
        #: Records removed unsent, per lane name, since this keeper started.
        self.thinned: Counter[str] = Counter()

    def due(self, monotonic_s: float, appended: int | None = None) -> bool:
        """Whether the budget should be measured now (then not again for `check_interval_s`).

        With `appended` (the records ever appended, from `appended_rows`), a measure is skipped while the last
        one plus ROW_BOUND_BYTES per record appended since stays within the budget, up to `measure_every_s`:
        measuring costs a sample of every lane, and the writer commits often (in a simulation, very often).
        """
        if monotonic_s < self.next_check_s:
            return False
        if appended is not None and self.measured is not None:
            size, rows, at_s = self.measured
            if size + (appended - rows) * ROW_BOUND_BYTES <= self.budget_bytes and monotonic_s - at_s < MEASURE_EVERY_S:
                return False
        self.next_check_s = monotonic_s + self.check_interval_s
        return True

    def measure(self, size_bytes: int, appended: int, monotonic_s: float) -> None:
        """Remember a measure of the outbox (size, records appended until then, when)."""
        self.measured = (size_bytes, appended, monotonic_s)


def thin_outbox(
    transaction: Callable[[], AbstractContextManager[sqlite3.Connection]], conn: sqlite3.Connection, target_bytes: float, stamp: Stamp, wall_s: float
) -> dict[str, int]:
    """Thin the outbox until its estimate fits `target_bytes`, one slice per transaction (`transaction()` is
    the store's write-transaction context, without its pending rows); records removed per lane name."""
    removed: Counter[str] = Counter()
    for lane, _, bucket_s in STAGES:
        while outbox_bytes(conn) > target_bytes:
            with transaction() as tx:
                before = int(tx.execute("SELECT thinned FROM outbox_lanes WHERE lane = ?", (lane,)).fetchone()[0])
                saved = thin_step(tx, lane, bucket_s, stamp, wall_s)
                after = int(tx.execute("SELECT thinned FROM outbox_lanes WHERE lane = ?", (lane,)).fetchone()[0])
            removed[LANE_NAMES[lane]] += after - before
            if saved <= 0:
                break
    return dict(removed)
