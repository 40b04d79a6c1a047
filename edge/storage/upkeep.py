"""The store's retention and disk budget, run by the calendar every day (and when the budget fills up).

Raw readings are kept `keep_readings_days`, then folded into hourly aggregates (min, mean, max, count,
by UTC hour), which are kept `keep_hourly_days` and then folded into daily ones (by the box's local day).
Events and alarms are kept. Past 90 % of the database's cap (its disk budget less the log's share) the
oldest data is thinned down to 80 %, in this order: raw readings folded into hourly ones a day at a time
(not the last day's), hourly into daily (not the last week's), the oldest daily aggregates removed, then
the oldest ordinary events (decisions, fallbacks, jobs; never alarms, acknowledgements, overrides,
interlocks, faults or agent events); if that is not enough, again keeping only the last hour of raw
readings and the last day of hourly ones. Before that second pass, the outbox (which shares the budget) is
thinned by what is still missing (edge/storage/outbox_thin.py). Every row folded or removed is counted. Then the write-ahead log is folded back.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.storage.budget import file_cap_bytes
from edge.storage.outbox_thin import outbox_bytes, thin_outbox
from edge.storage.schema import from_epoch, to_epoch
from edge.storage.store import Store

HOUR_S = 3600.0
#: The budget is checked against these shares of the database's cap: thin past the first, down to the second.
THIN_ABOVE = 0.9
THIN_DOWN_TO = 0.8
#: Under budget pressure, raw readings and hourly aggregates younger than these are kept: the first pair
#: while it is enough, then the next (a budget too small for a day of data still holds).
FLOORS: tuple[tuple[timedelta, timedelta], ...] = (
    (timedelta(days=1), timedelta(days=7)),
    (timedelta(hours=1), timedelta(days=1)),
)
#: Ordinary events removed per step when nothing else is left to thin.
EVENTS_PER_STEP = 1000
#: Event kinds never thinned.
KEPT_KINDS = ("alarm", "alarm_acked", "override", "interlock", "agent", "fault", "fault_cleared")

_MERGE = (
    "ON CONFLICT (sensor, name, ts) DO UPDATE SET "
    "mean = (mean * count + excluded.mean * excluded.count) / (count + excluded.count), "
    "min = min(min, excluded.min), max = max(max, excluded.max), count = count + excluded.count"
)


@dataclass(frozen=True, slots=True)
class Upkeep:
    """What one upkeep did."""

    readings_removed: int
    kept_since: datetime
    hourly_folded: int
    thinned: dict[str, int]
    used_bytes: int
    cap_bytes: int
    wal_before_bytes: int
    wal_after_bytes: int
    #: A reader (a technician's command) kept the log from being emptied this time.
    checkpoint_blocked: bool

    def describe(self) -> str:
        """In words, for the events table."""
        text = (f"daily upkeep: {self.readings_removed} reading(s) from before {self.kept_since:%Y-%m-%d} folded "
                f"into hourly aggregates, {self.hourly_folded} hourly aggregate(s) into daily ones")
        if self.thinned:
            text += "; over budget, thinned " + ", ".join(f"{n} {what}" for what, n in sorted(self.thinned.items()))
        text += f"; {self.used_bytes / 1e6:.1f} MB used of {self.cap_bytes / 1e6:.0f} MB"
        if self.checkpoint_blocked:
            return f"{text}; write-ahead log of {self.wal_before_bytes} B kept (a reader held it)"
        return f"{text}; write-ahead log folded back ({self.wal_before_bytes} B -> {self.wal_after_bytes} B)"


@dataclass
class Thinning:
    """Rows folded or removed to stay within the budget, by what they were."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, what: str, n: int) -> None:
        """Count `n` rows of `what` (nothing for zero)."""
        if n:
            self.counts[what] += n


def _wal_bytes(path: Path) -> int:
    try:
        return path.with_name(path.name + "-wal").stat().st_size
    except FileNotFoundError:
        return 0


def _fold(conn: sqlite3.Connection, table: str, aggregate: str, source: str, where: str, args: tuple) -> int:
    """Aggregate rows of `source` into `table`, removing them; the aggregates wait in a temporary table in
    memory while the rows go, so that a database with no free page left can still be thinned."""
    conn.execute(f"CREATE TEMP TABLE fold AS SELECT {aggregate} FROM {source} WHERE {where} GROUP BY 1, 2, 3", args)
    try:
        removed = int(conn.execute(f"DELETE FROM {source} WHERE {where}", args).rowcount)
        conn.execute(f"INSERT INTO {table} (ts, sensor, name, min, mean, max, count) SELECT * FROM fold "
                     f"WHERE true {_MERGE}")
    finally:
        conn.execute("DROP TABLE temp.fold")
    return removed


def fold_readings(conn: sqlite3.Connection, before: float) -> int:
    """Fold raw readings taken before epoch `before` into hourly aggregates (merging hours already there)."""
    aggregate = (f"CAST(ts / {HOUR_S} AS INTEGER) * {HOUR_S} AS ts, sensor, name, min(value) AS min, "
                 "avg(value) AS mean, max(value) AS max, count(*) AS count")
    return _fold(conn, "readings_hourly", aggregate, "readings", "ts < ?", (before,))


def _local_midnight(day: datetime, tz: ZoneInfo) -> float:
    return to_epoch(datetime.combine(day.astimezone(tz).date(), time(0), tzinfo=tz))


def fold_hourly(conn: sqlite3.Connection, before: float, tz: ZoneInfo) -> int:
    """Fold hourly aggregates of the local days that end by epoch `before` into daily ones; how many went."""
    cut = _local_midnight(from_epoch(before), tz)
    folded = 0
    start = conn.execute("SELECT min(ts) FROM readings_hourly WHERE ts < ?", (cut,)).fetchone()[0]
    while start is not None:
        day = _local_midnight(from_epoch(start), tz)
        end = _local_midnight(from_epoch(day) + timedelta(hours=36), tz)  # the next local midnight, DST or not
        aggregate = (f"{day!r} AS ts, sensor, name, min(min) AS min, sum(mean * count) / sum(count) AS mean, "
                     "max(max) AS max, sum(count) AS count")
        folded += _fold(conn, "readings_daily", aggregate, "readings_hourly", "ts >= ? AND ts < ?", (day, end))
        start = conn.execute("SELECT min(ts) FROM readings_hourly WHERE ts >= ? AND ts < ?", (end, cut)).fetchone()[0]
    return folded


def _oldest(conn: sqlite3.Connection, table: str) -> float | None:
    value = conn.execute(f"SELECT min(ts) FROM {table}").fetchone()[0]
    return None if value is None else float(value)


def _thin_step(
    store: Store, now: datetime, tz: ZoneInfo, thinning: Thinning, kept: Iterable[str], floors: tuple[timedelta, ...]
) -> bool:
    """Fold or remove the oldest slice of data (one transaction); False when nothing may go."""
    with store.transaction(with_pending=False) as conn:
        raw = _oldest(conn, "readings")
        floor_raw = to_epoch(now - floors[0])
        if raw is not None and raw < floor_raw:
            thinning.add("readings folded", fold_readings(conn, min(raw + 86_400.0, floor_raw)))
            return True
        hourly = _oldest(conn, "readings_hourly")
        floor_hourly = to_epoch(now - floors[1])
        if hourly is not None and hourly < _local_midnight(from_epoch(floor_hourly), tz):
            end = _local_midnight(from_epoch(hourly) + timedelta(hours=36), tz)
            thinning.add("hourly folded", fold_hourly(conn, min(end, floor_hourly), tz))
            return True
        daily = _oldest(conn, "readings_daily")
        if daily is not None:
            thinning.add("daily removed", conn.execute("DELETE FROM readings_daily WHERE ts = ?", (daily,)).rowcount)
            return True
        marks = ", ".join("?" for _ in kept)
        removed = conn.execute(
            f"DELETE FROM events WHERE id IN (SELECT id FROM events WHERE kind NOT IN ({marks}) AND ts < ? "
            "ORDER BY ts, id LIMIT ?)",
            (*kept, to_epoch(now - floors[0]), EVENTS_PER_STEP),
        ).rowcount
        thinning.add("events removed", removed)
        return removed > 0


def thin_to(store: Store, target_bytes: float, now: datetime, tz: ZoneInfo) -> dict[str, int]:
    """Thin the oldest data until the pages in use fit `target_bytes` (or nothing more may go); the counts."""
    thinning = Thinning()
    for floors in FLOORS:
        while store.page_stats().used_bytes > target_bytes:
            if not _thin_step(store, now, tz, thinning, KEPT_KINDS, floors):
                break
        if floors is FLOORS[0]:
            _outbox_gives_up(store, target_bytes, now, thinning)
    return dict(thinning.counts)


def _outbox_gives_up(store: Store, target_bytes: float, now: datetime, thinning: Thinning) -> None:
    """The outbox shares the budget: it is thinned by what is still missing (its size is an estimate: a few
    rounds at most)."""
    for _ in range(3):
        over = store.page_stats().used_bytes - target_bytes
        if over <= 0:
            return
        target = max(0.0, outbox_bytes(store.conn) - over)
        removed = thin_outbox(lambda: store.transaction(with_pending=False), store.conn, target, store.stamp(),
                              to_epoch(now))
        if not any(removed.values()):
            return
        for lane, n in removed.items():
            thinning.add(f"outbox {lane} records removed", n)


def retain(
    store: Store, now: datetime, tz: ZoneInfo, keep_readings_days: float, keep_hourly_days: float
) -> dict[str, int]:
    """Fold raw readings and hourly aggregates past their retention (one transaction, without the buffer)."""
    with store.transaction(with_pending=False) as conn:
        removed = fold_readings(conn, to_epoch(now - timedelta(days=keep_readings_days)))
        hourly = fold_hourly(conn, to_epoch(now - timedelta(days=keep_hourly_days)), tz)
    return {k: n for k, n in (("readings folded", removed), ("hourly folded", hourly)) if n}


def daily_upkeep(
    store: Store, now: datetime, tz: ZoneInfo, keep_readings_days: float, keep_hourly_days: float, budget_bytes: int
) -> Upkeep:
    """Fold old readings into aggregates, keep to the budget, empty the write-ahead log, let SQLite re-plan."""
    kept_since = now - timedelta(days=keep_readings_days)
    folded = retain(store, now, tz, keep_readings_days, keep_hourly_days)
    removed, hourly = folded.get("readings folded", 0), folded.get("hourly folded", 0)
    stats = store.page_stats()
    cap = file_cap_bytes(budget_bytes, stats[2])
    thinned = thin_to(store, THIN_DOWN_TO * cap, now, tz) if stats.used_bytes > THIN_ABOVE * cap else {}
    store.conn.execute("PRAGMA optimize")  # first: what it writes (new statistics) is folded back too
    before = _wal_bytes(store.path)
    busy, _, _ = store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return Upkeep(
        removed, kept_since, hourly, thinned, store.page_stats().used_bytes, cap,
        before, _wal_bytes(store.path), bool(busy),
    )
