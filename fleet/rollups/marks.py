"""Marks the (device, local day) pairs a batch touched, inside the ingest transaction; the job recomputes them.

Cheap (one upsert per day touched, one small read per batch) and idempotent (a batch twice marks the same
days again). A record whose time the fleet does not know yet (an unsynchronised clock, no offset) marks
nothing; its boot's monotonic span is kept, and the days it covers are marked when the offset arrives.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from fleet import protocol
from fleet.rollups.maths import MAX_INTERVAL_S, day_bounds, local_day
from fleet.rollups.place import device_place
from fleet.rollups.settings import RollupSettings
from fleet.store.api import plausible, trusted_ts
from fleet.store.db import Database

#: Record types the roll-ups are made of.
ROLLED_TYPES = frozenset({"reading", "event", "aggregate"})
#: A boot's pending span marks at most this many days when its offset comes (a wild offset marks no year).
MAX_PENDING_DAYS = 62

MARK_DAY = (
    "INSERT INTO rollup_dirty (device, day, mark, marked_at) VALUES (?, ?, 1, ?) ON CONFLICT (device, day)"
    " DO UPDATE SET mark = rollup_dirty.mark + 1"
)


def mark_days(db: Database, device: str, days: set[date], at: float) -> None:
    """Mark days of a device to recompute (in the caller's transaction); `at` is when, for a new mark."""
    if days:
        db.executemany(MARK_DAY, [(device, day.isoformat(), at) for day in sorted(days)])


def mark_stored(db: Database, zone: ZoneInfo, now: float, device: str | None = None) -> int:
    """Mark every local day from each device's first to its last timed record (records stored before the
    roll-ups existed, or a box whose time zone changed); the number of days marked. In one transaction."""
    where, args = ("WHERE ts IS NOT NULL AND device = ?", (device,)) if device else ("WHERE ts IS NOT NULL", ())
    marked = 0
    with db.transaction():
        for name, first, last in db.query(f"SELECT device, min(ts), max(ts) FROM records {where} GROUP BY device", args):
            place_zone = device_place(db, name, zone).zone
            day, end = local_day(float(first), place_zone), local_day(float(last), place_zone)
            days = set()
            while day <= end:
                days.add(day)
                day += timedelta(days=1)
            mark_days(db, name, days, now)
            marked += len(days)
    return marked


def touched(ts: float, kind: str, zone: ZoneInfo) -> tuple[date, ...]:
    """The days a record at `ts` can change: its own; for a reading, the day before (after) when it is
    within MAX_INTERVAL_S after (before) midnight, since the interval to its neighbour may cross it; for an
    event, the next day too (whose lights start as the day's last decision left them)."""
    day = local_day(ts, zone)
    if kind == "event":
        return day, day + timedelta(days=1)
    start, end = day_bounds(day, zone)
    found = (day,)
    if ts - start < MAX_INTERVAL_S:
        found += (day - timedelta(days=1),)
    if end - ts < MAX_INTERVAL_S:
        found += (day + timedelta(days=1),)
    return found


class RollupMarks:
    """The roll-ups' ingest observer."""

    def __init__(self, settings: RollupSettings | None = None) -> None:
        self.zone = (settings or RollupSettings()).zone

    def on_batch(self, db: Database, batch: protocol.Batch, received_at: float) -> None:
        """Mark the local days of the batch's readings, events and aggregates."""
        device, offsets = batch.device, dict(batch.clock_offsets)
        zone = device_place(db, device, self.zone).zone
        known: dict[str, float | None] = {}
        days: set[date] = set()
        unknown: dict[str, tuple[float, float]] = {}
        for record in batch.records:
            if record.type not in ROLLED_TYPES:
                continue
            ts = trusted_ts(record.clock, record.wall_s, received_at)
            if ts is None:
                offset = offsets.get(record.boot)
                if offset is None:
                    if record.boot not in known:
                        known[record.boot] = db.scalar(
                            "SELECT offset_s FROM clock_offsets WHERE device = ? AND boot = ?", (device, record.boot)
                        )
                    offset = known[record.boot]
                if offset is not None and plausible(record.mono_s + offset, received_at):
                    ts = record.mono_s + offset
            if ts is None:
                lo, hi = unknown.get(record.boot, (record.mono_s, record.mono_s))
                unknown[record.boot] = (min(lo, record.mono_s), max(hi, record.mono_s))
                continue
            days.update(touched(ts, record.type, zone))
            if record.type == "aggregate":
                days.update(touched(float(record.body["from_s"]) + ts - record.wall_s, record.type, zone))
        if offsets or unknown:
            self._pending(db, device, zone, offsets, unknown, received_at, days)
        mark_days(db, device, days, received_at)

    @staticmethod
    def _pending(
        db: Database, device: str, zone: ZoneInfo, offsets: dict[str, float],
        unknown: dict[str, tuple[float, float]], received_at: float, days: set[date],
    ) -> None:
        """Days of earlier untimed records whose boot's offset this batch brings; keep spans still untimed."""
        rows = db.query("SELECT boot, mono_min, mono_max FROM rollup_pending_boots WHERE device = ?", (device,))
        for boot, lo, hi in rows:
            offset = offsets.get(boot)
            if offset is None:
                continue
            first, last = lo + offset, hi + offset
            if plausible(first, received_at) and plausible(last, received_at):
                day = local_day(first, zone) - timedelta(days=1)
                end = min(local_day(last, zone), day + timedelta(days=MAX_PENDING_DAYS)) + timedelta(days=1)
                while day <= end:
                    days.add(day)
                    day += timedelta(days=1)
            db.execute("DELETE FROM rollup_pending_boots WHERE device = ? AND boot = ?", (device, boot))
        for boot, (lo, hi) in sorted(unknown.items()):
            db.execute(
                "INSERT INTO rollup_pending_boots VALUES (?,?,?,?) ON CONFLICT (device, boot) DO UPDATE SET"
                " mono_min = CASE WHEN excluded.mono_min < rollup_pending_boots.mono_min THEN excluded.mono_min"
                " ELSE rollup_pending_boots.mono_min END,"
                " mono_max = CASE WHEN excluded.mono_max > rollup_pending_boots.mono_max THEN excluded.mono_max"
                " ELSE rollup_pending_boots.mono_max END",
                (device, boot, lo, hi),
            )

    def on_status(self, db: Database, status: protocol.Status, received_at: float) -> None:
        """Nothing: a status holds no readings."""
