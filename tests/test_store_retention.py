"""Retention and the disk budget on real SQLite files: raw readings become hourly then daily aggregates with
exact min, mean, max and count; past the budget the oldest data is thinned, counted, and alarms stay."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import fmean
from zoneinfo import ZoneInfo

import pytest

from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.controllers.events import Event
from edge.storage.store import Store
from edge.storage.upkeep import daily_upkeep, thin_to

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
NO_BUDGET = 10**12


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "hameau.db", monotonic=SimClock().monotonic)
    yield s
    s.close()


def _temperature(value: float) -> tuple:
    return (reading("temperature_c", "temperature", value),)


def _rows(rows: list[tuple]) -> list[tuple]:
    """Aggregate rows with their floats rounded (means are sums divided)."""
    return [(t, round(lo, 9), round(mean, 9), round(hi, 9), n) for t, lo, mean, hi, n in rows]


def _value(t: datetime) -> float:
    """A temperature that changes every minute, different in every hour."""
    return round(10.0 + (t - T0).total_seconds() / 3600.0 + ((t.minute * 7) % 11) / 10.0, 3)


def test_upkeep_folds_raw_readings_past_retention_into_exact_hourly_aggregates(store: Store) -> None:
    minutes = [T0 + timedelta(minutes=m) for m in range(0, 5 * 60, 3)]  # a reading every 3 min for 5 h
    for t in minutes:
        store.add_readings(t, "hall-temp", _temperature(_value(t)))
    store.commit()
    keep_days = 1.0
    now = T0 + timedelta(days=keep_days, hours=2, minutes=30)  # keeps 02:30 onwards: an hour split in two
    done = daily_upkeep(store, now, PARIS, keep_days, 365.0, NO_BUDGET)
    cut = now - timedelta(days=keep_days)
    folded = [t for t in minutes if t < cut]
    assert done.readings_removed == len(folded) and done.thinned == {}
    assert [t for t, _ in store.readings("hall-temp", "temperature_c")] == [t for t in minutes if t >= cut]
    hours = sorted({t.replace(minute=0) for t in folded})
    expected = []
    for hour in hours:
        values = [_value(t) for t in folded if t.replace(minute=0) == hour]
        expected.append((hour, min(values), fmean(values), max(values), len(values)))
    assert _rows(store.aggregates("hall-temp", "temperature_c", "hourly")) == _rows(expected)
    # The next day folds the rest; the hour cut in two is merged into one row with the right mean.
    daily_upkeep(store, now + timedelta(days=1), PARIS, keep_days, 365.0, NO_BUDGET)
    rows = store.aggregates("hall-temp", "temperature_c", "hourly")
    split = T0 + timedelta(hours=2)
    values = [_value(t) for t in minutes if t.replace(minute=0) == split]
    assert _rows([r for r in rows if r[0] == split]) == _rows([(split, min(values), fmean(values), max(values),
                                                                 len(values))])
    assert sum(r[4] for r in rows) == len(minutes)


def test_upkeep_folds_hourly_aggregates_into_daily_ones_by_local_day(store: Store) -> None:
    # Around the spring change of time: Sunday 29 March 2026 in Paris lasts 23 hours.
    start = datetime(2026, 3, 28, 0, 0, tzinfo=PARIS)
    hours = [start.astimezone(UTC) + timedelta(hours=h) for h in range(3 * 24 - 1)]
    for t in hours:
        for m in (0, 30):
            store.add_readings(t + timedelta(minutes=m), "hall-temp", _temperature(t.hour + m / 60))
    store.commit()
    now = datetime(2026, 4, 5, 12, 0, tzinfo=PARIS)
    done = daily_upkeep(store, now, PARIS, 2.0, 3.0, NO_BUDGET)
    assert done.readings_removed == 2 * len(hours)
    daily = store.aggregates("hall-temp", "temperature_c", "daily")
    assert [(t.astimezone(PARIS).date().isoformat(), n) for t, _, _, _, n in daily] == [
        ("2026-03-28", 48), ("2026-03-29", 46), ("2026-03-30", 48),
    ]
    assert daily[1][1] == 0.0 and daily[1][3] == 23.5
    assert done.hourly_folded == len(hours)


def test_thinning_keeps_under_the_budget_counts_what_it_folds_and_never_touches_alarms(tmp_path: Path) -> None:
    budget_bytes = 1_000_000  # the least a config allows (db_budget_mb = 1)
    store = Store(tmp_path / "hameau.db", monotonic=SimClock().monotonic, budget_bytes=budget_bytes)
    try:
        store.raise_alarm("leak/burst", "burst", "leak", "burst", {"flow_lph": 9000.0}, T0)
        t, largest = T0, 0
        with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
            while t < T0 + timedelta(days=10):  # the budget holds far less than ten days of a sample a minute
                for _ in range(60):
                    store.add_readings(t, "hall-temp", _temperature(_value(t)))
                    store.add_event(Event("decision", "hall", "eco", t))
                    t += timedelta(minutes=1)
                try:
                    store.commit()
                finally:
                    largest = max(largest, store.size_bytes())
        assert largest <= budget_bytes
        with sqlite3.connect(store.path) as other:
            raw_before = other.execute("SELECT count(*) FROM readings").fetchone()[0]
        target = 0.5 * budget_bytes
        counts = thin_to(store, target, t, PARIS)
        assert store.page_stats().used_bytes <= target
        with sqlite3.connect(store.path) as other:
            raw_after, hourly_sum, alarms, oldest = other.execute(
                "SELECT (SELECT count(*) FROM readings), (SELECT coalesce(sum(count), 0) FROM readings_hourly), "
                "(SELECT count(*) FROM alarms), (SELECT min(ts) FROM readings)"
            ).fetchone()
        assert counts["readings folded"] == raw_before - raw_after == hourly_sum
        assert alarms == 1
        store.commit()  # what waited in the buffer now fits
        assert store.pending == 0 and store.size_bytes() <= budget_bytes
        assert oldest >= (t - timedelta(days=1)).timestamp() - 86_400, "it folded more than the oldest days"
    finally:
        store.close()
