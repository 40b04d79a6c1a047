"""Chaos on the sync path, with real processes: a `hameau-edge run` box on simulated buses streaming tens of
records a second through a real Mosquitto (TLS, passwords, ACLs) to a real `hameau-fleet serve`.

The broker restarted 20 times, the box SIGKILLed 50 times (several kills with a batch in flight), the serve
process SIGKILLed mid-stream: every time the box's database passes `PRAGMA integrity_check` and its outbox holds
every record the fleet has not acknowledged; at the end, after a clean stop, the box's outbox is empty and
the fleet holds every seq 1..last of each lane once, and the very readings and events the box recorded, each once.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from broker import Broker
from fleet_serve_process import ServeProcess
from sync_box_process import LANES, BoxProcess

from edge.config.link import LinkConfig
from edge.controllers.events import Event
from edge.link.service import Link, default_outbox_factory
from edge.runtime.clock import SystemClock
from edge.storage.store import Store

SEED = 9
BROKER_RESTARTS = 20
BOX_KILLS = 50
SERVE_KILLS = 8
FLOOD_EVENTS = 1200
#: What the box must stream, at the least, with every sensor sampled at each 0.5 s tick (~36 records/s).
MIN_RECORDS_PER_S = 20.0


@pytest.fixture
def world(broker: Broker, tmp_path: Path) -> Iterator[tuple[BoxProcess, ServeProcess]]:
    """A serve process on its own fleet store and a linked box (not started); both gone at the end."""
    (tmp_path / "fleet").mkdir()
    serve = ServeProcess(broker, tmp_path / "fleet")
    # Totals go at once, raw readings wait up to 2 s to fill a batch (a clean stop sends them at once).
    box = BoxProcess(broker, tmp_path / "box", batch_age_total_s=0.0, batch_age_raw_s=2.0)
    try:
        serve.start()
        yield box, serve
    finally:
        box.close()
        serve.close()


def _until(condition: Callable[[], object], timeout_s: float, what: str, step_s: float = 0.02) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if condition():
                return
        except sqlite3.OperationalError:  # the box is still creating its database
            pass
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        time.sleep(step_s)


def _acked_total(box: BoxProcess) -> int:
    return sum(acked for _, acked in box.lanes().values())


def _streaming(box: BoxProcess, timeout_s: float = 20.0) -> None:
    """Wait until the fleet's acks reach the running box again (it is connected and its records flow)."""
    before = _acked_total(box) if box.db.exists() else 0
    _until(lambda: _acked_total(box) > before, timeout_s, f"the box's records acknowledged\n{box.log()[-2000:]}")


def _fleet_last(serve: ServeProcess, device: str) -> dict[str, int]:
    rows = serve.rows("SELECT lane, max(seq) FROM records WHERE device = ? GROUP BY lane", device)
    return dict.fromkeys(LANES, 0) | {lane: int(last) for lane, last in rows}


def _outbox_holds_the_unacked_tail(box: BoxProcess) -> None:
    """The outbox holds every seq acked+1..last of each lane (nothing thinned here: none may be gone). Rows at or
    under the ack may be left by a kill between the ack's two transactions: the next ack deletes them."""
    for lane, (last, acked) in box.lanes().items():
        count, low, high = box.rows("SELECT count(*), min(seq), max(seq) FROM outbox WHERE lane = ? AND seq > ?",
                                    LANES.index(lane), acked)[0]
        assert acked <= last and count == last - acked, (lane, last, acked, count)
        assert count == 0 or (low, high) == (acked + 1, last), (lane, last, acked, low, high)


def _caught_up(box: BoxProcess, timeout_s: float) -> None:
    """Wait for a moment when the fleet has acknowledged every record the box has: the chaos is over, the link
    and serve work again (the stop's flush then only has the last commit to send)."""
    _until(lambda: all(acked == last for last, acked in box.lanes().values()), timeout_s,
           f"the fleet acknowledging everything\n{box.lanes()}\n{box.log()[-2000:]}", step_s=0.01)


def _assert_whole(box: BoxProcess, serve: ServeProcess) -> int:
    """Stop the box cleanly and check the fleet holds everything once; the number of records streamed."""
    _caught_up(box, 30.0)
    assert box.stop() == 0, box.log()[-2000:]
    assert box.integrity() == "ok"
    assert box.outbox_rows() == 0, f"left in the outbox: {box.lanes()}\n{box.log()[-2000:]}"
    lanes = box.lanes()
    for lane, (last, acked) in lanes.items():
        assert acked == last, (lane, last, acked)
        assert serve.seqs(box.device, lane) == list(range(1, last + 1)), f"{lane}: not every seq 1..{last} once"
    assert box.rows("SELECT sum(thinned) FROM outbox_lanes")[0][0] == 0
    assert serve.rows("SELECT count(*) FROM thinned")[0][0] == 0
    assert serve.rejects() == {}
    # The same readings and events, each once: not only the seqs (a record sent again under a new seq would show).
    readings = Counter(box.rows("SELECT sensor, name, value, round(ts, 3) FROM readings"))
    fleet_readings = Counter(serve.rows(
        "SELECT json_extract(body, '$.sensor'), json_extract(body, '$.name'), json_extract(body, '$.value'),"
        " round(wall_s, 3) FROM records WHERE device = ? AND type = 'reading'", box.device))
    assert readings == fleet_readings, (readings - fleet_readings, fleet_readings - readings)
    events = Counter(box.rows("SELECT kind, source, reason, round(ts, 3) FROM events"))
    fleet_events = Counter(serve.rows(
        "SELECT json_extract(body, '$.kind'), json_extract(body, '$.source'), json_extract(body, '$.reason'),"
        " round(wall_s, 3) FROM records WHERE device = ? AND type = 'event'", box.device))
    assert events == fleet_events, (events - fleet_events, fleet_events - events)
    assert max(readings.values()) == 1  # every sample is its own (sensor, name, time): a twice would be a copy
    return sum(last for last, _ in lanes.values())


@pytest.mark.slow
def test_sync_chaos_broker_restarted_20_times_loses_and_doubles_nothing(
    world: tuple[BoxProcess, ServeProcess], broker: Broker
) -> None:
    box, serve = world
    rng = random.Random(SEED)
    started = time.monotonic()
    box.start()
    _streaming(box)
    for _ in range(BROKER_RESTARTS):
        time.sleep(rng.uniform(0.5, 1.0))
        broker.restart()
        assert box.alive and serve.alive
    streamed = _assert_whole(box, serve)
    elapsed_s = time.monotonic() - started
    reconnects = box.log().count("link: connected")
    print(f"broker restarts {BROKER_RESTARTS}, records {streamed} in {elapsed_s:.0f} s, box connections {reconnects}")
    assert streamed >= MIN_RECORDS_PER_S * elapsed_s / 2  # a steady stream (half the time counted: the drain)
    assert reconnects >= BROKER_RESTARTS // 2  # the restarts cut the box's connection again and again


def _kill_with_batch_in_flight(box: BoxProcess, serve: ServeProcess, before: dict[str, int]) -> None:
    """Kill as soon as the fleet stores a new batch: its ack is then most likely still on its way to the box."""
    _until(lambda: _fleet_last(serve, box.device) != before, 20.0, f"a new batch stored\n{box.log()[-2000:]}",
           step_s=0.002)
    box.kill()


@pytest.mark.slow
def test_sync_chaos_box_killed_50_times_mid_batch_keeps_its_database_and_loses_nothing(
    world: tuple[BoxProcess, ServeProcess],
) -> None:
    box, serve = world
    rng = random.Random(SEED)
    started = time.monotonic()
    in_flight = 0
    for kill in range(BOX_KILLS):
        before = _fleet_last(serve, box.device)
        box.start()
        if kill % 3 == 0:
            _kill_with_batch_in_flight(box, serve, before)
        else:  # anywhere from its start: mid-migration, mid-connect, mid-commit, mid-publish, mid-ack
            time.sleep(rng.uniform(0.2, 1.4))
            box.kill()
        assert box.integrity() == "ok", f"after kill {kill + 1}"
        _outbox_holds_the_unacked_tail(box)
        time.sleep(0.05)  # what was on its way to the fleet is stored by now
        fleet = _fleet_last(serve, box.device)
        # This run's records, stored by the fleet, whose ack the box had not applied: it died mid-batch.
        in_flight += any(fleet[lane] > max(acked, before[lane]) for lane, (_, acked) in box.lanes().items())
    box.start()
    streamed = _assert_whole(box, serve)
    print(f"box kills {BOX_KILLS} ({in_flight} mid-batch: records of that run stored, their ack not applied), "
          f"records {streamed} in {time.monotonic() - started:.0f} s")
    assert in_flight >= 5


@pytest.mark.slow
def test_sync_chaos_serve_killed_mid_stream_loses_and_doubles_nothing(
    world: tuple[BoxProcess, ServeProcess],
) -> None:
    box, serve = world
    rng = random.Random(SEED)
    started = time.monotonic()
    box.start()
    _streaming(box)
    for kill in range(SERVE_KILLS):
        if kill % 2 == 0:  # right after its restart, while it stores what the broker kept for it
            time.sleep(rng.uniform(0.0, 0.3))
        else:
            time.sleep(rng.uniform(0.3, 1.0))
        serve.kill()
        assert serve.rows("PRAGMA integrity_check") == [("ok",)], f"fleet store after kill {kill + 1}"
        time.sleep(rng.uniform(0.2, 1.0))  # the box streams on; the broker keeps its records for serve
        serve.start()
        assert box.alive
    streamed = _assert_whole(box, serve)
    # The broker never went away: one connection throughout (the link's own writes never broke it).
    assert box.log().count("link: connected") == 1, box.log()[-3000:]
    print(f"serve kills {SERVE_KILLS}, records {streamed} in {time.monotonic() - started:.0f} s")


def test_sync_chaos_flood_of_small_batches_keeps_one_connection(broker: Broker, tmp_path: Path) -> None:
    # Hundreds of small batches: the service thread publishes while the network thread writes the PUBACKs of
    # the fleet's acks. Both writing the TLS socket at once would garble the stream and the broker would cut it.
    (tmp_path / "fleet").mkdir()
    serve = ServeProcess(broker, tmp_path / "fleet")
    password = tmp_path / "password"
    password.write_text(broker.add_device("flood-box") + "\n", encoding="utf-8")
    password.chmod(0o600)
    config = LinkConfig(broker_url=broker.url, host=broker.host, port=broker.port, ca_file=broker.ca_path,
                        password_file=password, username="flood-box", batch_max_bytes=1024,
                        reconnect_min_s=0.1, reconnect_max_s=0.5)
    clock = SystemClock()
    store = Store(tmp_path / "box.db", monotonic=time.monotonic)  # stamps: one boot, synced
    link = Link(config, device="flood-box", clock=clock, version="0.1.0", tick_s=0.01,
                outbox_factory=default_outbox_factory(config, db_path=tmp_path / "box.db", device="flood-box",
                                                      clock=clock))
    try:
        serve.start()
        rng = random.Random(SEED)  # noise the compression cannot squeeze: more, smaller batches
        now = datetime.now(UTC)
        for n in range(FLOOD_EVENTS):
            store.add_event(Event("decision", "flood", f"event {n}", now, {"n": n, "noise": rng.randbytes(24).hex()}))
        store.commit()
        link.start()
        _until(lambda: link.stats()["acked"]["event"] == FLOOD_EVENTS, 60.0, f"all acked: {link.stats()}")
        stats = link.stats()
        assert serve.seqs("flood-box", "event") == list(range(1, FLOOD_EVENTS + 1))
        assert (stats["connects"], stats["disconnects"]) == (1, 0), stats["last_error"]
        assert "disconnected" not in serve.log(), serve.log()[-2000:]  # nor the fleet's, acking as it stores
        assert stats["batches_sent"] >= FLOOD_EVENTS // 20  # small batches (1 KiB), many of them
    finally:
        link.stop()
        store.close()
        serve.close()
