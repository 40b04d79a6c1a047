"""Retention: raw `reading` records older than `raw_keep_days` are deleted, once their day is rolled up.

Only days the roll-up job has computed (rollup_days) and that neither they nor a neighbour are marked
dirty (a neighbour's recompute reads them) lose their readings, `chunk_rows` at a time, each chunk its
own short transaction under the device's roll-up lock. Events, command results, config reports, the
box's aggregates and every roll-up stay. What was deleted is counted per device, lane and day in
`raw_retired`, so that it is told apart from data that never came.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from fleet.rollups.maths import day_bounds, local_day
from fleet.rollups.place import device_place
from fleet.rollups.settings import RetentionSettings, RollupSettings
from fleet.serve.jobs import Job
from fleet.store.db import Database

#: Days looked at per run at most.
DAYS_PER_RUN = 1000
#: The lanes that hold readings.
READING_LANES = ("total", "raw")


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What one run did."""

    days: int
    deleted: int
    chunks: int
    skipped_dirty: int


class Retention:
    """Deletes old raw readings of rolled-up days; `job()` is what serve runs."""

    def __init__(
        self, settings: RetentionSettings | None = None, rollups: RollupSettings | None = None,
        interval_s: float = 3600.0,
    ) -> None:
        self.settings = settings or RetentionSettings()
        self.zone = (rollups or RollupSettings()).zone
        self.interval_s = interval_s

    def job(self) -> Job:
        """The periodic job (does nothing when the retention is disabled)."""
        return Job("retention", self.interval_s, lambda ctx: self.run(ctx.db, ctx.now))

    def cutoff(self, now: float) -> date:
        """The first local day whose readings are kept."""
        return local_day(now - self.settings.raw_keep_days * 86400.0, self.zone)

    def run(self, db: Database, now: float) -> RetentionRun:
        """Delete the raw readings of rolled-up days before the cutoff."""
        if not self.settings.enabled:
            return RetentionRun(0, 0, 0, 0)
        candidates = db.query(
            "SELECT device, day FROM rollup_days WHERE raw_done = 0 AND day < ? ORDER BY device, day LIMIT ?",
            (self.cutoff(now).isoformat(), DAYS_PER_RUN),
        )
        days = deleted = chunks = skipped = 0
        for device, day in candidates:
            result = self.retire_day(db, device, date.fromisoformat(day), now)
            if result is None:
                skipped += 1
                continue
            days += 1
            deleted += result[0]
            chunks += result[1]
        return RetentionRun(days, deleted, chunks, skipped)

    def retire_day(self, db: Database, device: str, day: date, now: float) -> tuple[int, int] | None:
        """Delete one rolled-up day's readings in chunks: (rows, chunks), or None if the day or a neighbour
        is dirty (left for a later run)."""
        start, end = day_bounds(day, device_place(db, device, self.zone).zone)
        text = day.isoformat()
        rows = chunks = 0
        done = False
        while not done:
            with db.transaction():
                db.lock(f"rollups:{device}")
                if chunks == 0 and self._dirty(db, device, day):
                    return None
                chunk = self._chunk(db, device, text, start, end)
                chunks += 1
                rows += chunk
                done = chunk < self.settings.chunk_rows
                db.execute(
                    "UPDATE rollup_days SET raw_retired_at = coalesce(raw_retired_at, ?), raw_done = ?"
                    " WHERE device = ? AND day = ?",
                    (now, 1 if done else 0, device, text),
                )
        return rows, chunks

    @staticmethod
    def _dirty(db: Database, device: str, day: date) -> bool:
        around = ((day - timedelta(days=1)).isoformat(), (day + timedelta(days=1)).isoformat())
        return bool(db.scalar(
            "SELECT count(*) FROM rollup_dirty WHERE device = ? AND day >= ? AND day <= ?", (device, *around)
        ))

    def _chunk(self, db: Database, device: str, day: str, start: float, end: float) -> int:
        """Delete up to chunk_rows readings of the day (lane by lane); how many."""
        budget = self.settings.chunk_rows
        total = 0
        for lane in READING_LANES:
            if total >= budget:
                break
            seqs = [
                int(row[0]) for row in db.query(
                    "DELETE FROM records WHERE device = ? AND lane = ? AND seq IN (SELECT seq FROM records"
                    " WHERE device = ? AND lane = ? AND type = 'reading' AND ts >= ? AND ts < ? LIMIT ?)"
                    " RETURNING seq",
                    (device, lane, device, lane, start, end, budget - total),
                )
            ]
            if not seqs:
                continue
            total += len(seqs)
            db.execute(
                "INSERT INTO raw_retired VALUES (?,?,?,?,?,?) ON CONFLICT (device, lane, day) DO UPDATE SET"
                " seq_from = CASE WHEN excluded.seq_from < raw_retired.seq_from THEN excluded.seq_from"
                " ELSE raw_retired.seq_from END,"
                " seq_to = CASE WHEN excluded.seq_to > raw_retired.seq_to THEN excluded.seq_to"
                " ELSE raw_retired.seq_to END, count = raw_retired.count + excluded.count",
                (device, lane, day, min(seqs), max(seqs), len(seqs)),
            )
        return total
