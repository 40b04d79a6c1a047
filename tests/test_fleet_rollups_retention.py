"""Retention on both engines: raw readings of rolled-up days go, in chunks; nothing else does, and never a
day still to roll up."""

from __future__ import annotations

from datetime import timedelta

from fleet.rollups import Retention
from fleet.rollups.marks import mark_days
from fleet.rollups.settings import RetentionSettings
from fleet.store import SqlStore
from tests.test_fleet_rollups_store import (
    D1,
    DEVICE,
    RECEIVED,
    D,
    at,
    batches,
    open_fleet,
    roll,
    scenario,
    tables,
)

#: 500 days later: the scenario's days are long past raw_keep_days (400).
LATER = RECEIVED + 500 * 86400.0
#: Readings of the scenario per local day: water totals 22:00-23:55 (24) + 3 energy on D; 00:00-06:00 on D1.
READINGS_D, READINGS_D1 = 24 + 3, 73


def stored(store: SqlStore) -> SqlStore:
    for lane, items in scenario().items():
        for batch in batches(lane, items, size=len(items)):
            store.store_batch(batch, RECEIVED)
    return store


def counts(store: SqlStore) -> dict[str, int]:
    return {kind: int(n) for kind, n in store.db.query("SELECT type, count(*) FROM records GROUP BY type")}


def test_retention_never_deletes_a_day_not_rolled_up(store_url: str) -> None:
    store = stored(open_fleet(store_url))
    try:
        result = Retention(RetentionSettings(chunk_rows=10)).run(store.db, LATER)
        assert result.deleted == 0
        assert counts(store)["reading"] == READINGS_D + READINGS_D1
    finally:
        store.close()


def test_retention_deletes_rolled_up_readings_in_chunks_and_keeps_the_rest(store_url: str) -> None:
    store = stored(open_fleet(store_url))
    try:
        roll(store)
        before = tables(store)
        result = Retention(RetentionSettings(chunk_rows=10)).run(store.db, LATER)
        # 27 readings in chunks of 10 (3 chunks), 73 (8 chunks).
        assert result.deleted == READINGS_D + READINGS_D1
        assert result.chunks == 3 + 8
        assert counts(store) == {"event": 5, "aggregate": 1}
        assert tables(store) == before
        retired = store.db.query("SELECT day, sum(count) FROM raw_retired GROUP BY day ORDER BY day")
        assert retired == [(D.isoformat(), READINGS_D), (D1.isoformat(), READINGS_D1)]
        # Deleted once rolled up is not missing: the lanes still account for every seq the box sent.
        assert {lane: store.missing(DEVICE, lane) for lane in ("event", "total", "raw")} == {
            "event": [], "total": [], "raw": []
        }
    finally:
        store.close()


def test_retention_keeps_recent_days(store_url: str) -> None:
    store = stored(open_fleet(store_url))
    try:
        roll(store)
        # 399 days after D1: D1 is still within raw_keep_days, D is not.
        result = Retention(RetentionSettings()).run(store.db, at(D1 + timedelta(days=400), 12))
        assert result.deleted == READINGS_D
        assert counts(store)["reading"] == READINGS_D1
    finally:
        store.close()


def test_retention_leaves_a_dirty_day_and_its_neighbours(store_url: str) -> None:
    store = stored(open_fleet(store_url))
    try:
        roll(store)
        with store.db.transaction():
            mark_days(store.db, DEVICE, {D1}, RECEIVED)  # a late batch touched D1: D1 and D (its neighbour) wait
        result = Retention(RetentionSettings(chunk_rows=10)).run(store.db, LATER)
        assert result.deleted == 0 and result.skipped_dirty >= 2
        roll(store)
        assert Retention(RetentionSettings(chunk_rows=10)).run(store.db, LATER).deleted == READINGS_D + READINGS_D1
    finally:
        store.close()


def test_retention_a_resent_old_reading_changes_no_rollup_and_goes_again(store_url: str) -> None:
    store = stored(open_fleet(store_url))
    try:
        roll(store)
        before = tables(store)
        Retention(RetentionSettings()).run(store.db, LATER)
        again = batches("total", scenario()["total"], size=10)[1]  # water readings of D, 22:35-23:20
        store.store_batch(again, LATER)
        assert counts(store)["reading"] == 10  # the resend brought 10 readings back
        roll(store, LATER)
        assert tables(store) == before  # a retired day is never recomputed from what is left
        assert Retention(RetentionSettings()).run(store.db, LATER).deleted == 10
    finally:
        store.close()
