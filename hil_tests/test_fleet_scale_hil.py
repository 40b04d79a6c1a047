"""Scale-out: two `hameau-fleet serve` processes on one MQTT 5 shared subscription, storing into one PostgreSQL.

200 simulated boxes (hil_tests/fleet_boxes.py: each its own MQTT identity, the real protocol, resending what is not
acknowledged after their ack timeout) stream batches through a real Mosquitto (TLS, passwords, ACLs) to two serve
processes, each its own fleet user in the share group `hameau-fleet`. One serve process is SIGKILLed mid-stream and
not started again; the boxes keep streaming to the other, then drain. For every box and lane the store holds the seqs
1..last once; each device's `records_new` counts every record the box produced exactly once (a record stored twice
would count in `records_resent`, one lost nowhere); the lane marks are the boxes' last seqs and each box received that
final ack. What the killed process held unacknowledged came again (the boxes' resends after their ack timeout).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from broker import Broker
from fleet_boxes import LANES, BoxDriver, BoxPlan, SimBox
from fleet_serve_process import ServeProcess

BOXES = 200
#: Each box, every 10 s: 100 raw readings, sent at once in two chained batches of 50 (both in flight together, so the
#: two processes may store them out of order), 10 meter totals sent every 30 s, an event every 20 s. The fleet's cost
#: is per batch: about 1,200 in all. The boxes' ack timeout outlasts a burst's queue.
PLAN = BoxPlan(period_s=10.0, per_period={"raw": 100, "total": 10}, event_every=2, max_batch_records=50,
               ages_s={"event": 0.0, "total": 30.0, "raw": 0.0}, ack_timeout_s=20.0)
STREAM_BEFORE_KILL_S = 9.5
#: The burst at 10 s: two raw batches and an event per box.
BURST_BATCHES = 3 * BOXES
BURST_TO_KILL_S = 0.2
STREAM_AFTER_KILL_S = 5.0
DRAIN_TIMEOUT_S = 60.0


@pytest.fixture
def boxes(broker: Broker) -> Iterator[BoxDriver]:
    """200 simulated boxes, each a device user of the broker (one reload for all), not yet connected."""
    passwords = broker.add_devices(*(f"scale-{n:03d}" for n in range(BOXES)))
    wall0_s = time.time() - 3600.0
    driver = BoxDriver((SimBox(device, password, PLAN, wall0_s=wall0_s) for device, password in passwords.items()),
                       host=broker.host, port=broker.port, ca_path=broker.ca_path)
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture
def serves(broker: Broker, pg_url: str, tmp_path: Path) -> Iterator[list[ServeProcess]]:
    """Two serve processes (fleet users 0 and 1, clean sessions) on one PostgreSQL database, subscribed."""
    processes = []
    try:
        for n in range(2):
            (tmp_path / f"serve{n}").mkdir()
            processes.append(ServeProcess(broker, tmp_path / f"serve{n}", db_url=pg_url, user=n, client_id=None))
            processes[-1].start()  # one after the other: the first creates the schema
        yield processes
    finally:
        for process in processes:
            process.close()


def _stored(pg_url: str) -> tuple[dict[tuple[str, str], tuple[int, int, int, int]], dict[str, tuple[int, int]],
                                  dict[tuple[str, str], int]]:
    """Per (device, lane): (rows, distinct seqs, min, max); per device: (records_new, records_resent); lane marks."""
    with psycopg.connect(pg_url) as conn:
        records = {(d, lane): (int(n), int(k), int(lo), int(hi)) for d, lane, n, k, lo, hi in conn.execute(
            "SELECT device, lane, count(*), count(DISTINCT seq), min(seq), max(seq) FROM records GROUP BY device, lane")}
        devices = {d: (int(new), int(resent)) for d, new, resent in conn.execute(
            "SELECT id, records_new, records_resent FROM devices")}
        marks = {(d, lane): int(hwm) for d, lane, hwm in conn.execute("SELECT device, lane, hwm FROM lanes")}
    return records, devices, marks


@pytest.mark.slow
def test_fleet_scale_two_serve_processes_one_killed_mid_stream_lose_and_double_nothing(
    boxes: BoxDriver, serves: list[ServeProcess], pg_url: str
) -> None:
    started = time.monotonic()
    victim, survivor = serves
    boxes.connect_all()
    boxes.start()
    boxes.run_for(STREAM_BEFORE_KILL_S)
    # The boxes started together, so their batches go together at 10 s: kill during that burst, when both
    # processes hold batches received and not yet stored (up to 100 each, their receive maximum, and more queued
    # for them at the broker), among them first halves of chains whose second half the other process stores.
    sent = boxes.batches_sent()
    assert boxes.run_until(lambda: boxes.batches_sent() - sent >= BURST_BATCHES, 5.0)
    boxes.run_for(BURST_TO_KILL_S)
    stored_before_kill = sum(n for n, *_ in _stored(pg_url)[0].values())
    assert stored_before_kill > 0
    victim.kill()
    timeouts_at_kill = sum(box.ack_timeouts for box in boxes.boxes)
    boxes.run_for(STREAM_AFTER_KILL_S)  # the boxes stream on; only the survivor stores
    boxes.stop_producing()
    drained = boxes.run_until(boxes.all_done, DRAIN_TIMEOUT_S)
    undone = {box.device: (box.last, box.acked, box.cursor, box.connected, box.connection, box.ack_timeouts,
                           box.batches_sent) for box in boxes.boxes if not box.done}
    assert drained, f"{len(undone)} boxes without their final ack, e.g. {list(undone.items())[:3]}"
    assert survivor.alive
    records, devices, marks = _stored(pg_url)
    produced = 0
    for box in boxes.boxes:
        for lane in LANES:
            last = box.last[lane]
            assert last > 0, (box.device, lane)  # every lane streamed
            assert records[(box.device, lane)] == (last, last, 1, last), f"{box.device} {lane}: not 1..{last} once"
            assert marks[(box.device, lane)] == last
        assert box.acked == box.last  # the final ack reached the box
        assert devices[box.device][0] == box.produced(), f"{box.device}: records_new {devices[box.device]}"
        produced += box.produced()
    assert len(records) == BOXES * len(LANES) and len(devices) == BOXES
    # The killed process's unacknowledged batches came again: boxes whose acks stalled at the kill resent them.
    resends = sum(box.ack_timeouts for box in boxes.boxes) - timeouts_at_kill
    assert resends > 0
    assert "could not store" not in survivor.log(), survivor.log()[-2000:]
    elapsed_s = time.monotonic() - started
    resent = sum(resent for _, resent in devices.values())
    print(f"{BOXES} boxes, {produced} records, {stored_before_kill} stored before the kill, {resends} box resends "
          f"after it, {resent} records received twice (stored once), {elapsed_s:.0f} s")
