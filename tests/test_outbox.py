"""The box's outbox on real SQLite files: every committed reading and event copied with its lane's next seq,
in the same transaction; batches event lane first, chained, bounded; acks delete exactly what they cover."""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drivers.reading import reading
from drivers.sim.clock import SimClock
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.link.outbox import Outbox
from edge.runtime.clock import SystemClock
from edge.storage.pending import Pending
from edge.storage.store import Store
from fleet import protocol

T0 = datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
DEVICE = "hall-1"


def _lux(value: float) -> tuple:
    return (reading("illuminance_lx", "illuminance", value),)


def _seqs(path: Path, lane: int) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT seq FROM outbox WHERE lane = ? ORDER BY seq", (lane,))]


def _bodies(path: Path, lane: int) -> list[list]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT body FROM outbox WHERE lane = ? ORDER BY seq", (lane,)).fetchall()
    return [json.loads(body) for (body,) in rows]


def _outbox(path: Path, clock: SimClock, **kwargs: object) -> Outbox:
    return Outbox(path, device=DEVICE, clock=clock, **kwargs)  # type: ignore[arg-type]


def test_outbox_seq_contiguous_across_restarts_and_a_crash_between_commits(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    first = Store(db, monotonic=clock.monotonic)
    for i in range(5):
        first.add_readings(clock.now(), "lux-roof", _lux(float(i)))
    first.add_event(Event("decision", "lights", "dark", clock.now()))
    first.commit()
    for i in range(3):  # never committed: the power goes
        first.add_readings(clock.now(), "lux-roof", _lux(100.0 + i))
    first.abandon()
    second = Store(db, monotonic=clock.monotonic)
    for i in range(4):
        second.add_readings(clock.now(), "lux-roof", _lux(10.0 + i))
    second.add_event_now(Event("decision", "lights", "light", clock.now()))
    second.close()
    assert _seqs(db, 2) == list(range(1, 10)), "5 committed, 3 lost with the crash (no seq), then 4 more"
    assert [body[2] for body in _bodies(db, 2)] == [0.0, 1.0, 2.0, 3.0, 4.0, 10.0, 11.0, 12.0, 13.0]
    assert _seqs(db, 0) == [1, 2]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT lane, last_seq FROM outbox_lanes ORDER BY lane").fetchall() == [(0, 2), (1, 0), (2, 9)]


def test_outbox_rows_go_in_the_transaction_that_writes_their_reading(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        store.add_readings(clock.now(), "lux-roof", _lux(1.0))
        with pytest.raises(RuntimeError), store.transaction():
            raise RuntimeError("the commit fails")
        assert _seqs(db, 2) == [] and store.pending == 1
        store.commit()
        assert _seqs(db, 2) == [1]
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 1


def test_outbox_records_dropped_by_the_full_buffer_get_no_seq(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic, buffer=Pending(max_readings=10, max_events=3)) as store:
        for i in range(25):
            store.add_readings(clock.now(), "lux-roof", _lux(float(i)))
        for i in range(5):
            store.add_event(Event("decision", "lights", f"d{i}", clock.now()))
        store.commit()
        assert store.buffer.dropped_readings == 15 and store.buffer.dropped_events == 2
    assert _seqs(db, 2) == list(range(1, 11))
    assert [body[2] for body in _bodies(db, 2)] == [float(i) for i in range(15, 25)]
    assert [body[2] for body in _bodies(db, 0)] == ["d2", "d3", "d4"]


def test_outbox_stamps_boot_mono_and_clock_state_when_the_record_is_made(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(100.0, epoch=T0, boot_id="boot-a")
    clock.set_synced(False)
    with Store(db, monotonic=clock.monotonic) as store:
        store.add_readings(clock.now(), "lux-roof", _lux(5.0))
        clock.advance(50.0)
        clock.set_synced(True)
        store.add_event(Event("decision", "lights", "dark", clock.now(), {"lux": 5.0}))
        clock.advance(500.0)
        store.commit()
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT lane, seq, boot, mono_s, wall_s, synced, type FROM outbox ORDER BY lane").fetchall()
    wall = T0.timestamp()
    assert rows == [(0, 1, "boot-a", 150.0, wall + 150.0, 1, "event"), (2, 1, "boot-a", 100.0, wall + 100.0, 0, "reading")]


def test_outbox_lanes_follow_the_quantity_and_events_keep_their_fields(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        store.add_readings(clock.now(), "inlet-meter", (
            reading("volume_l", "volume", 1234.5), reading("flow_rate_lph", "flow_rate", 60.0),
        ))
        store.add_readings(clock.now(), "hall-energy", (reading("active_energy_kwh", "active_energy", 7.25),))
        store.add_event(Event("fallback", "lights", "no lux", clock.now(), {"bad": float("inf"), "n": 2}))
    assert _bodies(db, 1) == [["inlet-meter", "volume_l", 1234.5], ["hall-energy", "active_energy_kwh", 7.25]]
    assert _bodies(db, 2) == [["inlet-meter", "flow_rate_lph", 60.0]]
    assert _bodies(db, 0) == [["fallback", "lights", "no lux", {"bad": None, "n": 2}]]


def test_outbox_a_technicians_override_reaches_the_outbox_with_the_boxs_boot(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SystemClock()  # what edge/technician/commands.py opens the store with
    at = datetime.now(UTC)
    with Store(db, commit_interval_s=30.0, monotonic=clock.monotonic) as store:
        store.set_override(Override("hall-lights", True, at + timedelta(hours=4), at, "tech:alice", "fete"))
    with sqlite3.connect(db) as conn:
        (boot, body), = conn.execute("SELECT boot, body FROM outbox WHERE lane = 0").fetchall()
    assert boot == clock.boot_id()
    assert json.loads(body)[:2] == ["override", "tech:alice"]


def _week_of_raw(store: Store, clock: SimClock) -> int:
    count = 0
    for minute in range(7 * 24 * 60):
        store.add_readings(clock.now(), "lux-roof", _lux(float(minute % 500)))
        store.add_readings(clock.now(), "hall-temp", (reading("temperature_c", "temperature", 19.5),))
        count += 2
        clock.advance(60.0)
        if minute % 1440 == 0:
            store.commit()
    store.commit()
    return count


def test_outbox_an_alarm_after_a_week_of_raw_readings_is_in_the_first_batch(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        produced = _week_of_raw(store, clock)
        store.add_readings(clock.now(), "inlet-meter", (reading("volume_l", "volume", 9.0),))
        store.raise_alarm("leak/burst", "burst", "leak", "9000 L/h", {"flow_lph": 9000.0}, clock.now())
        store.add_event_now(Event("alarm", "leak", "burst: 9000 L/h for 10 min", clock.now()))
    clock.advance(30.0)  # the meter total's age
    with _outbox(db, clock) as outbox:
        first, second, third = outbox.due_batches(3)
    alarm = protocol.parse_batch(DEVICE, first.payload)
    assert (first.lane, alarm.records[0].body["kind"]) == ("event", "alarm")
    assert (second.lane, third.lane) == ("total", "raw")
    assert third.seq_first == 1 and third.seq_last < produced


def test_outbox_batches_chain_stay_within_the_window_and_restart_after_the_ack(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        for i in range(1000):
            store.add_readings(clock.now(), "lux-roof", _lux(float(i)))
        clock.advance(120.0)
    with _outbox(db, clock, max_batch_records=100, window=4) as outbox:
        sent = outbox.due_batches(10)
        assert [(b.after, b.seq_first, b.seq_last) for b in sent] == [(0, 1, 100), (100, 101, 200),
                                                                      (200, 201, 300), (300, 301, 400)]
        assert outbox.due_batches(10) == [], "the window is full"
        outbox.apply_ack(protocol.Ack(DEVICE, {"event": 0, "total": 0, "raw": 200}))
        assert [(b.after, b.seq_first) for b in outbox.due_batches(10)] == [(400, 401), (500, 501)]
        outbox.restart()
        again = outbox.due_batches(1)
        assert [(b.after, b.seq_first, b.seq_last) for b in again] == [(200, 201, 300)]
        for batch in again:
            parsed = protocol.parse_batch(DEVICE, batch.payload)
            assert [r.seq for r in parsed.records] == list(range(201, 301))
            assert [r.body["value"] for r in parsed.records] == [float(i) for i in range(200, 300)]


def test_outbox_raw_readings_wait_their_age_but_events_go_at_once(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        store.add_readings(clock.now(), "lux-roof", _lux(1.0))
        store.add_event(Event("decision", "lights", "dark", clock.now()))
    with _outbox(db, clock) as outbox:
        assert [b.lane for b in outbox.due_batches(5)] == ["event"]
        clock.advance(59.0)
        assert outbox.due_batches(5) == []
        clock.advance(1.0)
        assert [b.lane for b in outbox.due_batches(5)] == ["raw"]


def test_outbox_ack_deletes_exactly_up_to_n_per_lane_and_never_goes_backwards(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        for i in range(12_000):
            store.add_readings(clock.now(), "lux-roof", _lux(float(i)))
        for i in range(30):
            store.add_event(Event("decision", "lights", f"d{i}", clock.now()))
    with _outbox(db, clock) as outbox:
        assert outbox.apply_ack(protocol.Ack(DEVICE, {"event": 7, "total": 0, "raw": 11_000})) == 11_007
        assert _seqs(db, 2) == list(range(11_001, 12_001)) and _seqs(db, 0) == list(range(8, 31))
        assert outbox.apply_ack(protocol.Ack(DEVICE, {"event": 3, "total": 0, "raw": 10})) == 0
        stats = outbox.stats()["lanes"]
        assert (stats["event"]["acked_seq"], stats["raw"]["acked_seq"]) == (7, 11_000), "acks never go backwards"
        assert [b.after for b in outbox.due_batches(1)] == [7]


def test_outbox_an_ack_past_every_seq_of_a_fresh_database_moves_its_rows_after_it(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        for i in range(5):
            store.add_event(Event("decision", "lights", f"d{i}", clock.now()))
    with _outbox(db, clock) as outbox:
        assert outbox.apply_ack(protocol.Ack(DEVICE, {"event": 900, "total": 0, "raw": 0})) == 0
        assert _seqs(db, 0) == [901, 902, 903, 904, 905]
        (batch,) = outbox.due_batches(1)
        assert (batch.after, batch.seq_first, batch.seq_last) == (900, 901, 905)
    with Store(db, monotonic=clock.monotonic) as store:
        store.add_event_now(Event("decision", "lights", "next", clock.now()))
    assert _seqs(db, 0)[-1] == 906


def test_outbox_payloads_stay_under_the_limit_and_every_record_leaves(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        for i in range(40):  # incompressible data: about 30 kB of JSON each
            store.add_event(Event("fault", "modbus", "garbled frame", clock.now(), {"frame": os.urandom(11_000).hex()}))
    with _outbox(db, clock, max_batch_bytes=protocol.MAX_PAYLOAD_BYTES) as outbox:
        seen: list[int] = []
        while batches := outbox.due_batches(4):
            for batch in batches:
                assert len(batch.payload) <= protocol.MAX_PAYLOAD_BYTES
                seen += [r.seq for r in protocol.parse_batch(DEVICE, batch.payload).records]
            outbox.apply_ack(protocol.Ack(DEVICE, {"event": seen[-1], "total": 0, "raw": 0}))
    assert seen == list(range(1, 41))


def test_outbox_compresses_a_batch_of_readings(tmp_path: Path) -> None:
    db, clock = tmp_path / "box.db", SimClock(epoch=T0)
    with Store(db, monotonic=clock.monotonic) as store:
        for i in range(2000):
            store.add_readings(clock.now(), "lux-roof", _lux(float(i % 50)))
        clock.advance(120.0)
    with _outbox(db, clock) as outbox:
        (big,) = outbox.due_batches(2)
    assert big.payload[0] == 0x78
    text = zlib.decompress(big.payload)
    assert len(big.payload) * 5 < len(text)
    assert json.loads(text)["seq_last"] == 2000
