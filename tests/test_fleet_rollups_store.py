"""Roll-ups on both engines: a night, a lit evening and a day of energy stored as batches and recomputed,
the same figures whatever the order, the resends and the clock corrections."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fleet import protocol
from fleet.rollups import RollupJob, RollupMarks
from fleet.store import SqlStore, open_store

PARIS = ZoneInfo("Europe/Paris")
D = date(2026, 1, 14)
D1 = D + timedelta(days=1)
DEVICE = "box-a"
#: When the fleet receives everything: well after the scenario, so every wall time is believed.
RECEIVED = datetime.combine(D + timedelta(days=3), time(12), PARIS).timestamp()


def at(day: date, hh: int, mm: int = 0) -> float:
    """Epoch seconds of a Paris wall time."""
    return datetime.combine(day, time(hh, mm), PARIS).timestamp()


def water_flow_lph(t: float) -> float:
    """The night of D: a 12 L/h leak until 04:00, a 300 L/h tap on top 02:10-02:20, 40 L/h from 04:00."""
    if t < at(D1, 4):
        return 12.0 + (300.0 if at(D1, 2, 10) <= t < at(D1, 2, 20) else 0.0)
    return 40.0


def scenario() -> dict[str, list[tuple[float, str, dict[str, Any]]]]:
    """(time, type, body) per lane: the water meter's total every 5 min from 22:00 to 06:00, the lighting
    meter's register, the street lights' decisions, one aggregate the box folded."""
    total: list[tuple[float, str, dict[str, Any]]] = []
    litres, t = 500.0, at(D, 22)
    while t <= at(D1, 6):
        total.append((t, "reading", {"sensor": "water-main", "name": "volume_total_l", "value": round(litres, 6)}))
        litres += water_flow_lph(t) * 300 / 3600
        t += 300
    for hh, kwh in ((8, 1000.0), (14, 1006.0), (20, 1012.5)):
        total.append((at(D, hh), "reading", {"sensor": "energy-lighting", "name": "import_energy_kwh", "value": kwh}))
    total.sort(key=lambda r: r[0])
    events = [
        (at(day, hh, mm), "event", {
            "kind": "decision", "source": "street-main", "reason": "lux", "data": {
                "relay": "street-lights", "on": on, "mode": "lux", "lux": 5.0,
            },
        })
        for day, hh, mm, on in ((D, 8, 0, False), (D, 17, 42, True), (D, 23, 0, False), (D1, 5, 30, True),
                                (D1, 8, 0, False))
    ]
    raw = [(at(D, 11), "aggregate", {
        "sensor": "hall-temp", "name": "temperature_c", "from_s": at(D, 10), "to_s": at(D, 11),
        "min": 18.0, "mean": 18.5, "max": 19.0, "count": 60,
    })]
    return {"total": total, "event": events, "raw": raw}


def batches(
    lane: str, items: Sequence[tuple[float, str, dict[str, Any]]], *, size: int, boot: str = "b1",
    unsynced_base: float | None = None, offsets: dict[str, float] | None = None,
) -> list[protocol.Batch]:
    """The lane's records as chained batches of `size`; with `unsynced_base` their clock was not set: wall
    time = unsynced_base + mono, mono = real time - unsynced_base... the offset tells the real time."""
    out = []
    for first in range(0, len(items), size):
        records = []
        for seq, (ts, kind, body) in enumerate(items[first:first + size], start=first + 1):
            mono = ts - at(D, 0) + 100.0
            wall, clock = (ts, "synced") if unsynced_base is None else (unsynced_base + mono, "unsynced")
            records.append(protocol.Record(seq, boot, mono, wall, clock, kind, body))
        out.append(protocol.Batch(DEVICE, boot, lane, first, first + 1, first + len(records), RECEIVED, True,
                                  dict(offsets or {}), tuple(records)))
    return out


def open_fleet(url: str) -> SqlStore:
    store = open_store(url, [RollupMarks()])
    store.db.execute(
        "INSERT INTO registry (device, site, latitude, longitude, added_at) VALUES (?,?,?,?,?)",
        (DEVICE, "Mairie", 48.8566, 2.3522, RECEIVED),
    )
    return store


def tables(store: SqlStore) -> dict[str, list[tuple[Any, ...]]]:
    db = store.db
    return {
        "water": db.query("SELECT meter, night, min_flow_lph, samples, volume_l FROM water_nights ORDER BY 1, 2"),
        "lighting": db.query("SELECT circuit, day, lit_s, dark_s, switches FROM lighting_days ORDER BY 1, 2"),
        "energy": db.query("SELECT meter, register, day, energy_kwh, samples, resets FROM energy_days ORDER BY 1, 2, 3"),
    }


def roll(store: SqlStore, now: float = RECEIVED) -> None:
    job = RollupJob(settle_s=0.0)
    while job.run(store.db, now).left:
        pass


def assert_oracle(found: dict[str, list[tuple[Any, ...]]]) -> None:
    # Night of D (01:00-05:00 on D1): buckets 12, 12 + 300*10/60, 12, 40 L/h; 49 samples 01:00..05:00.
    assert len(found["water"]) == 1
    meter, night, mnf, samples, volume = found["water"][0]
    assert (meter, night, samples) == ("water-main", D.isoformat(), 49)
    assert mnf == pytest.approx(12.0) and volume == pytest.approx(12 * 3 + 50 + 40)
    # Lights: 17:42-23:00 on D (5 h 18), 05:30-08:00 on D1 (2 h 30): 7 h 48 in all.
    lit = {row[1]: row for row in found["lighting"]}
    assert {D.isoformat(), D1.isoformat()} <= set(lit)
    assert all(row[2] == 0 for day, row in lit.items() if day not in (D.isoformat(), D1.isoformat()))
    assert lit[D.isoformat()][2] == 5 * 3600 + 18 * 60 and lit[D.isoformat()][4] == 2
    assert lit[D1.isoformat()][2] == 2 * 3600 + 30 * 60 and lit[D1.isoformat()][4] == 2
    # Paris, 14 January 2026 (almanac): sunrise 08:40, sunset 17:20 CET: 8 h 40 + 6 h 40 of night.
    assert abs(lit[D.isoformat()][3] - (8 * 3600 + 40 * 60 + 6 * 3600 + 40 * 60)) <= 120
    assert found["energy"] == [("energy-lighting", "import_energy_kwh", D.isoformat(), pytest.approx(12.5), 3, 0)]


def test_rollups_store_rolls_a_night_an_evening_and_a_day(store_url: str) -> None:
    store = open_fleet(store_url)
    try:
        for lane, items in scenario().items():
            for batch in batches(lane, items, size=len(items)):
                store.store_batch(batch, RECEIVED)
        assert store.db.scalar("SELECT count(*) FROM rollup_dirty") > 0
        roll(store)
        assert store.db.scalar("SELECT count(*) FROM rollup_dirty") == 0
        assert_oracle(tables(store))
    finally:
        store.close()


def test_rollups_store_converge_whatever_the_order_and_resends(store_url: str) -> None:
    store = open_fleet(store_url)
    try:
        pieces = [b for lane, items in scenario().items() for b in batches(lane, items, size=7)]
        order = random.Random(7).sample(pieces, len(pieces))
        order += order[:5]  # resent
        for i, batch in enumerate(order):
            store.store_batch(batch, RECEIVED)
            if i % 9 == 0:
                roll(store)  # the job runs while half the data is in
        roll(store)
        assert_oracle(tables(store))
    finally:
        store.close()


def test_rollups_store_follow_a_late_clock_correction(store_url: str) -> None:
    store = open_fleet(store_url)
    try:
        lanes = scenario()
        # The water meter's records come from a boot whose clock was never set (wall time in 1970).
        for batch in batches("total", lanes["total"], size=50, boot="b2", unsynced_base=1000.0):
            store.store_batch(batch, RECEIVED)
        for batch in batches("event", lanes["event"], size=10):
            store.store_batch(batch, RECEIVED)
        roll(store)
        assert tables(store)["water"] == [] and tables(store)["energy"] == []
        # Days later the box learns its offset (wall = mono + offset) and says so with its next batch.
        offset = at(D, 0) - 100.0
        late = protocol.Record(6, "b1", 1.0, at(D + timedelta(days=3), 9), "synced", "event", {
            "kind": "agent", "source": "agent", "reason": "clock synchronised", "data": {},
        })
        store.store_batch(
            protocol.Batch(DEVICE, "b1", "event", 5, 6, 6, RECEIVED, True, {"b2": offset}, (late,)), RECEIVED
        )
        roll(store)
        assert_oracle(tables(store))
    finally:
        store.close()


def test_rollups_store_marks_are_idempotent(store_url: str) -> None:
    store = open_fleet(store_url)
    try:
        batch = batches("event", scenario()["event"], size=10)[0]
        store.store_batch(batch, RECEIVED)
        marked = store.db.query("SELECT day FROM rollup_dirty ORDER BY day")
        store.store_batch(batch, RECEIVED)
        # Each decision's day, and the next (whose lights start as the day's last decision left them).
        assert store.db.query("SELECT day FROM rollup_dirty ORDER BY day") == marked == [
            (D.isoformat(),), (D1.isoformat(),), ((D1 + timedelta(days=1)).isoformat(),)
        ]
    finally:
        store.close()


def test_rollups_store_without_coordinates_leave_dark_time_unknown(store_url: str) -> None:
    store = open_store(store_url, [RollupMarks()])
    try:
        for batch in batches("event", scenario()["event"], size=10):
            store.store_batch(batch, RECEIVED)
        roll(store)
        rows = tables(store)["lighting"]
        assert [r[2] for r in rows] == [5 * 3600 + 18 * 60, 2 * 3600 + 30 * 60]
        assert [r[3] for r in rows] == [None, None]
    finally:
        store.close()


def test_rollups_store_keep_a_mark_made_during_a_recompute(store_url: str) -> None:
    store = open_fleet(store_url)
    try:
        first, second, third = batches("event", scenario()["event"], size=2)
        store.store_batch(first, RECEIVED)  # D 08:00 and 17:42
        seen = store.db.query("SELECT day, mark FROM rollup_dirty WHERE device = ? ORDER BY day", (DEVICE,))
        store.store_batch(second, RECEIVED)  # D 23:00 and D1 05:30, stored while the job works from what it saw
        store.store_batch(third, RECEIVED)
        RollupJob(settle_s=0.0).recompute(store.db, DEVICE, [(day, int(mark)) for day, mark in seen], RECEIVED)
        # D and D1 were marked again meanwhile: they stay dirty; D1 + 1, marked only by the second batch, too.
        assert store.db.query("SELECT day FROM rollup_dirty ORDER BY day") == [
            (D.isoformat(),), (D1.isoformat(),), ((D1 + timedelta(days=1)).isoformat(),)
        ]
        roll(store)
        assert [r[2] for r in tables(store)["lighting"]] == [5 * 3600 + 18 * 60, 2 * 3600 + 30 * 60]
    finally:
        store.close()


def test_rollups_store_wait_for_a_day_to_settle(store_url: str) -> None:
    store = open_fleet(store_url)
    try:
        for batch in batches("event", scenario()["event"], size=10):
            store.store_batch(batch, RECEIVED)
        job = RollupJob(settle_s=300.0)
        assert job.run(store.db, RECEIVED + 299).days == 0  # marked 299 s ago: more batches may come
        assert tables(store)["lighting"] == []
        assert job.run(store.db, RECEIVED + 300).days == 2  # D and D1 (D1 + 1 is after the last record)
        assert len(tables(store)["lighting"]) == 2
    finally:
        store.close()
