"""The outbox's disk budget reached during a week offline: the example town hall box (its example world, the real
agent in simulated time) with an outbox budget of 4 MB, about half of what its week of records takes, then its real
Link to a real Mosquitto and a real `hameau-fleet serve`. The oldest raw samples were folded into hourly
aggregates that say exactly what they replace, every event (the week's leak alarms among them) and every meter
total arrives, and what the fleet lacks is exactly what the box stated thinned: nothing is missing unexplained."""

from __future__ import annotations

import bisect
import math
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
    read,
    running_link,
    wait_drained,
)

from edge.storage.outbox_thin import ROW_OVERHEAD_BYTES

WEEK = timedelta(days=7)
#: The week's outbox takes about 6.8 MB (2.5 MB of meter totals, 4.3 MB of raw readings): 4 MB forces thinning.
BUDGET_BYTES = 4_000_000
#: Names of the example's readings that are meter totals (the total lane): its meters' counters.
TOTAL_NAMES = {"pulse_count", "volume_total_l", "import_energy_kwh", "export_energy_kwh", "total_energy_kwh"}
HOUR_S = 3600.0
#: What one thinning slice (5000 of the oldest raw readings, ~110 bytes each as the budget counts them) frees.
ONE_SLICE_BYTES = 5000 * 110


def _outbox_bytes(db: Path) -> int:
    """The outbox's bytes as its budget counts them: each row's body, boot id and fixed overhead."""
    rows, text_bytes = read(db, "SELECT count(*), coalesce(sum(length(body) + length(boot)), 0) FROM outbox")[0]
    return text_bytes + rows * ROW_OVERHEAD_BYTES


def test_sync_budget_hil_oldest_raw_thinned_and_every_loss_stated(broker: Broker, tmp_path: Path) -> None:
    serve = ServeProcess(broker, tmp_path).start()
    try:
        # The week of the dripping cistern (the example world's leak from 10 March): the box raises leak alarms.
        with hall_box(tmp_path, hall_world("2026-03-08T00:00"), outbox_budget_bytes=BUDGET_BYTES) as sim:
            db = sim.config.agent.db_path
            sizes = []  # (raw records thinned so far, outbox bytes), hour by hour
            end = sim.now + WEEK
            while sim.now < end:
                sim.run_until(min(sim.now + timedelta(hours=1), end))
                sizes.append((box_lanes(db)["raw"]["thinned"], _outbox_bytes(db)))
            sim.stop_agent()
            sim.clock.advance(120.0)
            before = box_lanes(db)
            with running_link(link_config(broker, tmp_path), sim.clock, db) as link:
                wait_drained(db, link, timeout_s=60.0)
            readings, events = box_readings(db), box_events(db)
        assert serve.terminate() == 0
    finally:
        serve.close()
    assert before["raw"]["thinned"] > 0 and before["total"]["thinned"] == 0 and before["event"]["thinned"] == 0
    # Once it reached its budget, thinned to 90 % of it and no further than one slice below (checked every minute:
    # hardly ever over it).
    once_full = [size for thinned, size in sizes if thinned > 0]
    assert len(once_full) > 24 and min(once_full) >= 0.9 * BUDGET_BYTES - ONE_SLICE_BYTES, min(once_full)
    assert max(size for _, size in sizes) <= 1.02 * BUDGET_BYTES
    counts = fleet_counts(serve.db_path)
    with fleet_store(serve.db_path) as store:
        for lane in LANES:
            assert store.missing(DEVICE, lane) == [], f"{lane}: seqs missing with no thinned report"
            last, (rows, distinct) = before[lane]["last"], counts[lane]
            assert rows == distinct, f"{lane}: duplicates"
            stated = sum(t.count for t in store.thinned(DEVICE) if t.lane == lane)
            assert last - rows == before[lane]["thinned"] == stated, f"{lane}: lacks {last - rows}"
        raw_thinned = [t for t in store.thinned(DEVICE) if t.lane == "raw"]
        assert raw_thinned[0].seq_from == 1  # the oldest first
        got_readings, got_events = fleet_readings(store), fleet_events(store)
        aggregates = [r.body for r in store.records(DEVICE, "raw") if r.type == "aggregate"]
        total_names = {r.body["name"] for r in store.records(DEVICE, "total")}
    assert sum(1 for kind in events if kind[1] == "alarm") >= 2
    assert got_events == events
    for key, values in readings.items():
        got = got_readings.get(key, [])
        if key[1] in TOTAL_NAMES:  # every meter total arrived as it was read
            assert got == values, key
            continue
        # The newest samples arrived as they were read, the older ones in aggregates that account for each one.
        folded = [a for a in aggregates if (a["sensor"], a["name"]) == key]
        assert got == values[len(values) - len(got):], key
        assert len(got) + sum(a["count"] for a in folded) == len(values), key
        assert len(got) < len(values), f"{key}: none of its oldest samples thinned"
        times = [ts for ts, _ in values]
        for a in folded:
            members = [v for _, v in values[bisect.bisect_left(times, a["from_s"]):
                                           bisect.bisect_right(times, a["to_s"])]]
            assert len(members) == a["count"] and a["to_s"] - a["from_s"] < HOUR_S, (key, a)
            assert (min(members), max(members)) == (a["min"], a["max"]), (key, a)
            assert math.isclose(sum(members) / len(members), a["mean"], rel_tol=1e-9, abs_tol=1e-9), (key, a)
    assert total_names == TOTAL_NAMES
