"""The outbox's disk budget on real SQLite files: the oldest raw readings folded into aggregates first, totals
only when no raw reading is left, events last; every record removed stated in a `thinned` record, exactly."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.config.model import AgentConfig
from edge.controllers.events import Event
from edge.link.outbox import Outbox
from edge.storage.keeper import StoreKeeper
from edge.storage.outbox_rows import BODY_FIELDS
from edge.storage.outbox_thin import lane_sizes, outbox_bytes, thin_outbox
from edge.storage.store import Store
from fleet import protocol

T0 = datetime(2026, 2, 2, 0, 0, tzinfo=UTC)
HOURS = 30


def _rows(path: Path, lane: int) -> list[tuple[int, str, dict]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT seq, type, body FROM outbox WHERE lane = ? ORDER BY seq", (lane,)).fetchall()
    return [(seq, kind, dict(zip(BODY_FIELDS[kind], json.loads(body), strict=True))) for seq, kind, body in rows]


def _lanes(path: Path) -> dict[int, tuple[int, int]]:
    with sqlite3.connect(path) as conn:
        return {lane: (last, thinned) for lane, last, thinned in conn.execute("SELECT lane, last_seq, thinned FROM outbox_lanes")}


def _village_day(store: Store, clock: SimClock) -> tuple[int, int, int]:
    """30 hours of two thermometers a minute (value = hour * 100 + minute, and -minute), a meter total every
    10 minutes, an alarm every 6 hours: (readings, totals, events) produced."""
    readings = totals = events = 0
    for hour in range(HOURS):
        for minute in range(60):
            store.add_readings(clock.now(), "hall-temp", (reading("temperature_c", "temperature", hour * 100 + minute),))
            store.add_readings(clock.now(), "attic-temp", (reading("temperature_c", "temperature", -minute),))
            readings += 2
            if minute % 10 == 0:
                store.add_readings(clock.now(), "meter", (reading("volume_l", "volume", hour * 60.0 + minute),))
                totals += 1
            clock.advance(60.0)
        if hour % 6 == 0:
            store.add_event(Event("alarm", "leak", f"night flow {hour}", clock.now()))
            events += 1
        store.commit()
    return readings, totals, events


def _accounted(path: Path) -> None:
    """Every seq ever given is either still in the outbox or inside exactly one stated thinned range."""
    stated: dict[str, list[tuple[int, int, int]]] = {"event": [], "total": [], "raw": []}
    for _, kind, body in _rows(path, 0):
        if kind == "thinned":
            stated[body["lane"]].append((body["seq_from"], body["seq_to"], body["count"]))
    lanes = _lanes(path)
    for lane, name in enumerate(("event", "total", "raw")):
        present = {seq for seq, _, _ in _rows(path, lane)}
        gone: set[int] = set()
        for seq_from, seq_to, count in stated[name]:
            span = set(range(seq_from, seq_to + 1))
            assert len(span) == count and not span & gone and not span & present
            gone |= span
        last, thinned = lanes[lane]
        assert len(present) + thinned == last
        if lanes[0][1] == 0:  # once events are thinned, the thinned records that stated ranges may be gone too
            assert present | gone == set(range(1, last + 1)) and thinned == len(gone)


def test_outbox_thin_folds_the_oldest_raw_readings_hourly_and_states_exactly_what_went(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        produced, totals, events = _village_day(store, clock)
        raw_bytes = lane_sizes(store.conn)[2].bytes
        removed = thin_outbox(lambda: store.transaction(with_pending=False), store.conn,
                              outbox_bytes(store.conn) - 0.9 * raw_bytes, store.stamp(), clock.now().timestamp())
    assert removed == {"raw": produced}
    raw = _rows(db, 2)
    assert [kind for _, kind, _ in raw] == ["aggregate"] * (2 * HOURS)
    hall = {round(b["from_s"] - T0.timestamp()) // 3600: b for _, _, b in raw if b["sensor"] == "hall-temp"}
    for hour, b in hall.items():
        assert (b["min"], b["mean"], b["max"], b["count"]) == (hour * 100, hour * 100 + 29.5, hour * 100 + 59, 60)
        assert b["to_s"] - b["from_s"] == 59 * 60.0
    assert sorted(hall) == list(range(HOURS))
    assert sum(b["count"] for _, _, b in raw) == produced, "kept + folded == produced"
    (stated,) = [b for _, kind, b in _rows(db, 0) if kind == "thinned"]
    assert {k: stated[k] for k in ("lane", "seq_from", "seq_to", "count")} == {
        "lane": "raw", "seq_from": 1, "seq_to": produced, "count": produced}
    assert f"{produced} oldest" in stated["reason"]
    assert len(_rows(db, 1)) == totals and [k for _, k, _ in _rows(db, 0)].count("event") == events
    assert _lanes(db) == {0: (events + 1, 0), 1: (totals, 0), 2: (produced + 2 * HOURS, produced)}
    _accounted(db)


def _hall_aggregates_hold_what_they_span(raw: list[tuple[int, str, dict]]) -> None:
    """Each hall-temp aggregate holds the readings of every minute it spans (value = hour * 100 + minute)."""
    for _, kind, b in raw:
        if kind == "aggregate" and b["sensor"] == "hall-temp":
            first, last = (round((b[k] - T0.timestamp()) / 60) for k in ("from_s", "to_s"))
            values = [k // 60 * 100 + k % 60 for k in range(first, last + 1)]
            assert (b["min"], b["max"], b["count"]) == (min(values), max(values), len(values))
            assert abs(b["mean"] - sum(values) / len(values)) < 1e-9


def test_outbox_thin_takes_totals_only_when_no_raw_reading_is_left_and_events_last(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        _, totals, events = _village_day(store, clock)
        start = outbox_bytes(store.conn)
        targets = [share * start for share in (0.8, 0.5, 0.3, 0.2, 0.1, 0.05, 0.02)]
        while len(targets) < 60 and len(_rows(db, 0)) + len(_rows(db, 1)) + len(_rows(db, 2)) > 1:
            target = targets.pop(0) if targets else outbox_bytes(store.conn) - 50  # then a row's worth at a time
            thin_outbox(lambda: store.transaction(with_pending=False), store.conn, target, store.stamp(),
                        clock.now().timestamp())
            raw, total, event = _rows(db, 2), _rows(db, 1), _rows(db, 0)
            _hall_aggregates_hold_what_they_span(raw)
            lanes = _lanes(db)
            if lanes[1][1]:  # totals thinned: no raw reading left unfolded, even by the hour
                assert all(kind == "aggregate" and b["to_s"] - b["from_s"] > 3600 for _, kind, b in raw)
            if sum(b["count"] if k == "aggregate" else 1 for _, k, b in total) < totals:
                assert raw == [], "totals removed only once every raw record is gone"
            if lanes[0][1]:
                assert raw == [] and total == [], "events removed last"
            if raw or total:
                assert sum(kind == "event" for _, kind, _ in event) == events, "every alarm kept"
            _accounted(db)
    assert [kind for _, kind, _ in _rows(db, 0)] == ["thinned"]


def test_outbox_thin_keeps_the_outbox_within_its_budget_through_a_long_outage(tmp_path: Path) -> None:
    clock = SimClock(epoch=T0)
    settings = AgentConfig(db_path=tmp_path / "box.db", commit_interval_s=30.0)
    budget = 700_000
    keeper = StoreKeeper(settings, now=clock.now, monotonic=clock.monotonic, outbox_budget_bytes=budget)
    keeper.start(ZoneInfo("Europe/Paris"))
    try:
        alarms = 0
        for minute in range(3 * 24 * 60):  # three days without a link: 4 readings a minute
            keeper.add_readings(clock.now(), "hall", (
                reading("temperature_c", "temperature", 19.0 + minute % 7),
                reading("relative_humidity_pct", "relative_humidity", 50.0),
                reading("illuminance_lx", "illuminance", float(minute % 900)),
                reading("volume_l", "volume", float(minute)),
            ))
            if minute % 360 == 0:
                keeper.add_event_now(Event("alarm", "leak", f"alarm {minute}", clock.now()))
                alarms += 1
            clock.advance(60.0)
            if minute % 10 == 9:
                keeper.commit()
                assert keeper.fault is None
                assert keeper.db is not None and outbox_bytes(keeper.db.conn) <= budget + 10 * 4 * 140
        assert keeper.health()["thinned"].get("outbox raw records removed", 0) > 0
        assert "outbox total records removed" not in keeper.health()["thinned"]
    finally:
        keeper.close()
    db = settings.db_path
    assert [b["reason"] for _, k, b in _rows(db, 0) if k == "event"] == [f"alarm {m * 360}" for m in range(alarms)]
    assert len(_rows(db, 1)) == 3 * 24 * 60, "meter totals untouched while raw readings could be folded"
    _accounted(db)


def test_outbox_thin_a_full_disk_is_a_store_fault_never_a_crash(tmp_path: Path) -> None:
    clock = SimClock(epoch=T0)
    settings = AgentConfig(db_path=tmp_path / "box.db", commit_interval_s=30.0, db_budget_mb=1.0,
                           store_retry_min_s=30.0, store_retry_max_s=60.0)
    keeper = StoreKeeper(settings, now=clock.now, monotonic=clock.monotonic, outbox_budget_bytes=10_000_000)
    keeper.start(ZoneInfo("Europe/Paris"))
    try:
        for minute in range(4 * 24 * 60):  # far more than a megabyte holds
            keeper.add_readings(clock.now(), "hall", (
                reading("temperature_c", "temperature", 19.0 + minute % 7),
                reading("illuminance_lx", "illuminance", float(minute % 900)),
            ))
            clock.advance(60.0)
            if minute % 30 == 29:
                keeper.commit()
        assert keeper.db is not None and keeper.db.size_bytes() <= 1_000_000
        assert {e.data["class"] for e in keeper.events(kind="fault", source="store")} == {"full"}
        assert keeper.fault is None and keeper.health()["dropped"] == {"readings": 0, "events": 0}
        assert keeper.health()["thinned"].get("outbox raw records removed", 0) > 0
    finally:
        keeper.close()
    _accounted(settings.db_path)
    with sqlite3.connect(settings.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_outbox_thin_size_estimate_is_within_a_tenth_of_the_pages_on_disk(tmp_path: Path) -> None:
    db = tmp_path / "box.db"
    clock = SimClock(epoch=T0, boot_id="6f1c2a8e-94d4-4c1b-9a59-0d7f3e2b1c44")  # a kernel boot id's length
    with Store(db, monotonic=clock.monotonic) as store:
        _village_day(store, clock)
        try:
            (on_disk,) = store.conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'outbox'").fetchone()
        except sqlite3.OperationalError:  # SQLite built without the dbstat table
            return
        estimate = outbox_bytes(store.conn)
    assert 1.0 * on_disk <= estimate <= 1.1 * on_disk


def test_outbox_thin_the_next_raw_batch_skips_the_thinned_seqs_stated_first_in_the_event_lane(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        produced, _, events = _village_day(store, clock)
        thin_outbox(lambda: store.transaction(with_pending=False), store.conn,
                    outbox_bytes(store.conn) - 0.9 * lane_sizes(store.conn)[2].bytes, store.stamp(), 0.0)
    with Outbox(db, device="hall-1", clock=clock) as outbox:
        batches = [(b.lane, protocol.parse_batch("hall-1", b.payload)) for b in outbox.due_batches(8)]
    lanes = [lane for lane, _ in batches]
    assert lanes == ["event", "total", "raw"]
    thinned = batches[0][1].records[-1]
    assert (thinned.seq, thinned.type) == (events + 1, "thinned")
    assert (thinned.body["seq_from"], thinned.body["seq_to"]) == (1, produced)
    raw = batches[2][1]
    assert (raw.after, raw.seq_first, raw.seq_last) == (0, produced + 1, produced + 2 * HOURS)
    assert sum(r.body["count"] for r in raw.records) == produced


def test_outbox_budget_measures_only_when_what_was_appended_could_pass_it():
    from edge.storage.outbox_thin import MEASURE_EVERY_S, ROW_BOUND_BYTES, OutboxBudget

    budget = OutboxBudget(1_000_000, 2_000_000, check_interval_s=60.0)
    assert budget.due(0.0, appended=0)  # never measured: measure
    budget.measure(400_000, 1_000, 0.0)
    # 600 kB of room at 1 kB a record at most: 585 more records cannot pass the budget, 600 could.
    assert not budget.due(100.0, appended=1_000 + 585)
    assert budget.due(200.0, appended=1_000 + 600_000 // ROW_BOUND_BYTES + 1)
    budget.measure(400_000, 1_000, 200.0)
    assert not budget.due(200.0 + MEASURE_EVERY_S - 1, appended=1_001)
    assert budget.due(200.0 + MEASURE_EVERY_S, appended=1_001)  # at least hourly, bound or not
    assert not budget.due(200.0 + MEASURE_EVERY_S + 30, appended=10**9)  # and never twice within check_interval_s
