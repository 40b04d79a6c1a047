"""A week offline, then the link: the example town hall box (examples/village-hall.toml in its example world, the
real agent in simulated time) runs 7 days with no link, its records piling up in its outbox; then its real Link
connects to a real Mosquitto (TLS, the device's own password, the production ACL) and a real `hameau-fleet serve`
stores into a fleet SQLite file. Every record reaches the fleet once, in sequence: no gap, no duplicate, the same
readings and events as the box's own tables, events before meter totals before raw readings, and the box's outbox
ends empty, acked up to its last seq."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from broker import Broker
from fleet_serve_process import ServeProcess
from sync_world import (
    DEVICE,
    LANES,
    box_events,
    box_lanes,
    box_readings,
    fleet_counts,
    fleet_events,
    fleet_readings,
    fleet_store,
    hall_box,
    hall_world,
    link_config,
    running_link,
    wait_drained,
)

WEEK = timedelta(days=7)
#: The example box samples lux and water every minute, energy every 5 min...: about 71,000 readings a week.
FEWEST_RECORDS = 60_000


def test_sync_offline_week_hil_every_record_reaches_the_fleet_once(broker: Broker, tmp_path: Path) -> None:
    serve = ServeProcess(broker, tmp_path).start()
    try:
        with hall_box(tmp_path, hall_world("2026-01-12T00:00")) as sim:
            sim.run_until(sim.now + WEEK)
            sim.stop_agent()  # its last records committed
            sim.clock.advance(120.0)  # two minutes later: every lane's batch age has passed
            db = sim.config.agent.db_path
            before = box_lanes(db)
            assert all(before[lane]["acked"] == 0 for lane in LANES)
            assert sum(before[lane]["rows"] for lane in LANES) >= FEWEST_RECORDS
            with running_link(link_config(broker, tmp_path), sim.clock, db) as link:
                took_s = wait_drained(db, link, timeout_s=90.0)
            print(f"drained {sum(before[lane]['rows'] for lane in LANES)} records in {took_s:.1f} s")
            after = box_lanes(db)
            readings, events = box_readings(db), box_events(db)
        assert serve.terminate() == 0
    finally:
        serve.close()
    for lane in LANES:
        assert after[lane] == {"rows": 0, "last": before[lane]["last"], "acked": before[lane]["last"], "thinned": 0}
    counts = fleet_counts(serve.db_path)
    with fleet_store(serve.db_path) as store:
        received = {}
        for lane in LANES:
            last = before[lane]["last"]
            assert counts[lane] == (last, last), f"{lane}: (rows, distinct seqs) in the fleet"
            records = store.records(DEVICE, lane)
            assert [r.seq for r in records] == list(range(1, last + 1))
            assert store.missing(DEVICE, lane) == []
            received[lane] = (min(r.received_at for r in records), max(r.received_at for r in records))
        assert store.acked(DEVICE) == {lane: before[lane]["last"] for lane in LANES}
        assert store.thinned(DEVICE) == []
        assert store.counts(DEVICE).untrusted == 0
        got_readings, got_events = fleet_readings(store), fleet_events(store)
    # Priorities: the week's events were all stored before the first meter total, the totals before any raw reading.
    assert received["event"][1] <= received["total"][0] and received["total"][1] <= received["raw"][0], received
    assert {key: len(v) for key, v in got_readings.items()} == {key: len(v) for key, v in readings.items()}
    assert got_readings == readings
    assert got_events == events and sum(events.values()) == before["event"]["last"]
