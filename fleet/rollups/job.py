"""The roll-up job: recompute the days marked dirty from the stored records, so that resends, batches out of
order and late clock corrections all end in the same figures.

A day is recomputed once its first mark is `settle_min` old (a box's batches keep marking today: today is
recomputed every few minutes, not at every batch), from the device's readings of that day and of the
MAX_INTERVAL_S around it (intervals across midnight, night windows across it) and the decisions of the 7
days before. Each span of at most SPAN_DAYS marked days of a device is one short transaction under the
device's roll-up lock (the retention takes it too); a mark is deleted only if it did not change meanwhile (a batch stored during the recompute keeps its day dirty).
Days whose raw readings the retention removed are never recomputed; days after the device's latest record
have nothing to compute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.leak.stats import NightWindows
from edge.controllers.sun import SunCalendar
from fleet.rollups.compute import day_rows, decode
from fleet.rollups.maths import (
    MAX_INTERVAL_S,
    day_bounds,
    night_days,
    night_windows,
    nights_touching,
)
from fleet.rollups.place import device_place
from fleet.rollups.settings import RollupSettings
from fleet.serve.jobs import Job
from fleet.store.db import Database

#: A lighting circuit's state at midnight is its latest decision at most this long before.
DECISION_LOOKBACK_S = 7 * 86400.0
#: Days recomputed together at most: one read of the device's records, one short transaction.
SPAN_DAYS = 7
#: The readings a roll-up is made of, by their names' units (a cheap filter before decoding each body).
READING_FILTER = (
    "(body LIKE '%\\_kwh\"%' ESCAPE '\\' OR body LIKE '%\\_l\"%' ESCAPE '\\' OR body LIKE '%\\_lph\"%' ESCAPE '\\')"
)

#: A mark goes only if no batch marked its day again meanwhile.
_UNMARK = "DELETE FROM rollup_dirty WHERE device = ? AND day = ? AND mark = ?"


@dataclass(frozen=True, slots=True)
class RollupRun:
    """What one run did."""

    devices: int
    days: int
    left: int


def _spans(days: Sequence[date]) -> list[list[date]]:
    """Consecutive runs of dates, each at most SPAN_DAYS long."""
    spans: list[list[date]] = []
    for day in sorted(set(days)):
        if spans and day - spans[-1][-1] == timedelta(days=1) and len(spans[-1]) < SPAN_DAYS:
            spans[-1].append(day)
        else:
            spans.append([day])
    return spans


class RollupJob:
    """Recomputes dirty days; `job()` is what serve runs."""

    def __init__(
        self, settings: RollupSettings | None = None, interval_s: float = 60.0, settle_s: float | None = None
    ) -> None:
        self.settings = settings or RollupSettings()
        self.interval_s = interval_s
        self.settle_s = self.settings.settle_min * 60.0 if settle_s is None else settle_s
        self._windows: dict[str, NightWindows] = {}

    def windows(self, zone: ZoneInfo) -> NightWindows:
        """The night windows in a zone (kept: they remember the nights asked lately)."""
        found = self._windows.get(zone.key)
        if found is None:
            s = self.settings
            found = self._windows[zone.key] = night_windows(s.night_start, s.night_end, s.bucket_min, zone)
        return found

    def job(self) -> Job:
        """The periodic job."""
        return Job("rollups", self.interval_s, lambda ctx: self.run(ctx.db, ctx.now))

    def run(self, db: Database, now: float) -> RollupRun:
        """Recompute up to `days_per_run` settled dirty device-days; `left`: the settled marks still waiting."""
        limit, settled = self.settings.days_per_run, now - self.settle_s
        marks = db.query(
            "SELECT device, day, mark FROM rollup_dirty WHERE marked_at <= ? ORDER BY device, day LIMIT ?",
            (settled, limit),
        )
        by_device: dict[str, list[tuple[str, int]]] = {}
        for device, day, mark in marks:
            by_device.setdefault(device, []).append((day, int(mark)))
        done = 0
        for device, seen in by_device.items():
            done += self.recompute(db, device, seen, now)
        left = int(db.scalar("SELECT count(*) FROM rollup_dirty WHERE marked_at <= ?", (settled,)))
        return RollupRun(devices=len(by_device), days=done, left=left)

    def recompute(self, db: Database, device: str, seen: Sequence[tuple[str, int]], now: float) -> int:
        """Recompute a device's marked days, one transaction per span of at most SPAN_DAYS; the days written."""
        marks: dict[date, list[tuple[str, int]]] = {}
        unreadable = []
        for text, mark in seen:
            try:
                marks.setdefault(date.fromisoformat(text), []).append((text, mark))
            except ValueError:  # not a date (a hand-made row): nothing to compute, the mark goes
                unreadable.append((device, text, mark))
        written = 0
        for span in _spans(sorted(marks)):
            with db.transaction():
                db.lock(f"rollups:{device}")
                written += self._recompute_span(db, device, span, now)
                db.executemany(_UNMARK, [(device, text, mark) for day in span for text, mark in marks[day]])
        if unreadable:
            with db.transaction():
                db.executemany(_UNMARK, unreadable)
        return written

    def _recompute_span(self, db: Database, device: str, span: list[date], now: float) -> int:
        """Inside the device's lock: recompute a span of marked days but those retired or after the last record."""
        lo, hi = (span[0] - timedelta(days=1)).isoformat(), (span[-1] + timedelta(days=1)).isoformat()
        retired = {
            row[0] for row in db.query(
                "SELECT day FROM rollup_days WHERE device = ? AND raw_retired_at IS NOT NULL AND day >= ? AND day <= ?",
                (device, lo, hi),
            )
        }
        back = sorted(retired & {d.isoformat() for d in span})
        if back:  # a resend brought readings of a retired day back: the retention removes them again
            db.executemany("UPDATE rollup_days SET raw_done = 0 WHERE device = ? AND day = ?", [(device, d) for d in back])
        place = device_place(db, device, self.settings.zone)
        horizon = self._horizon(db, device)
        days = [d for d in span if d.isoformat() not in retired and day_bounds(d, place.zone)[0] < horizon]
        calendar = None
        if place.latitude is not None and place.longitude is not None:
            calendar = SunCalendar(place.latitude, place.longitude, place.zone.key)
        return sum(
            self._span(db, device, part, place.zone, horizon, calendar, now, retired) for part in _spans(days)
        )

    @staticmethod
    def _horizon(db: Database, device: str) -> float:
        """The device's latest trusted record time: a day is rolled up to there, not to the day's end."""
        latest = [
            db.scalar("SELECT max(ts) FROM records WHERE device = ? AND lane = ? AND ts IS NOT NULL", (device, lane))
            for lane in ("event", "total", "raw")
        ]
        return max((float(t) for t in latest if t is not None), default=0.0)

    def _span(
        self, db: Database, device: str, span: list[date], zone: ZoneInfo, horizon: float,
        calendar: SunCalendar | None, now: float, retired: set[str],
    ) -> int:
        windows = self.windows(zone)
        start, end = day_bounds(span[0], zone)[0], day_bounds(span[-1], zone)[1]
        nights = {n for day in span for n in nights_touching(windows, day)}
        bounds = [windows.bounds(n + timedelta(days=1)) for n in nights]
        read_from = min([start, *(b[0] for b in bounds)]) - MAX_INTERVAL_S
        read_to = max([end, *(b[1] for b in bounds)]) + MAX_INTERVAL_S
        readings = db.query(
            "SELECT lane, ts, wall_s, type, body FROM records WHERE device = ? AND lane IN ('raw', 'total')"
            f" AND ts >= ? AND ts < ? AND type IN ('reading', 'aggregate') AND {READING_FILTER}",
            (device, read_from, read_to),
        )
        events = db.query(
            "SELECT lane, ts, wall_s, type, body FROM records WHERE device = ? AND lane = 'event'"
            " AND ts >= ? AND ts < ? AND type = 'event'",
            (device, start - DECISION_LOOKBACK_S, end),
        )
        series = decode(readings, events, self.settings.max_gap_min * 60.0)
        # Nights that also cover a retired day keep their figures.
        frozen = {n for n in nights if any(d.isoformat() in retired for d in night_days(windows, n))}
        rows = day_rows(device, span, series, self.settings.max_gap_min * 60.0, windows, horizon, calendar, frozen)
        first, last = span[0].isoformat(), span[-1].isoformat()
        db.execute("DELETE FROM energy_days WHERE device = ? AND day >= ? AND day <= ?", (device, first, last))
        db.execute("DELETE FROM lighting_days WHERE device = ? AND day >= ? AND day <= ?", (device, first, last))
        db.executemany(
            "DELETE FROM water_nights WHERE device = ? AND night = ?", [(device, n.isoformat()) for n in rows.nights]
        )
        db.executemany("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", rows.water)
        db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", rows.lighting)
        db.executemany("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)", rows.energy)
        db.executemany(
            "INSERT INTO rollup_days (device, day, rolled_at) VALUES (?,?,?) ON CONFLICT (device, day)"
            " DO UPDATE SET rolled_at = excluded.rolled_at",
            [(device, day.isoformat(), now) for day in span],
        )
        return len(span)
