"""A boot at 1970 followed by a clock sync two hours later: the example town hall box (the real agent in its example
world, in simulated time) whose clock says 1970-01-01 + monotonic time, unsynchronised, for its first two hours, then
the true time, synchronised. Through its real Link, a real Mosquitto and a real `hameau-fleet serve`, the fleet
stores every record of those two hours at its true time (the world's: its start + the record's monotonic time),
none at 1970 nor in the future: corrected by the box before they leave when it synced first, or stored without a
time and fixed by the fleet when the link delivered them before the sync."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from broker import Broker
from fleet_serve_process import ServeProcess
from sync_world import (
    DEVICE,
    LANES,
    ClockFrom1970,
    box_lanes,
    fleet_counts,
    fleet_store,
    hall_box,
    hall_world,
    link_config,
    read,
    running_link,
    wait_drained,
)

#: The world's start (hall_world's), the box's true time at monotonic 0.
START = datetime(2026, 1, 12, tzinfo=ZoneInfo("Europe/Paris"))
START_S = START.timestamp()
SYNC_AFTER_S = 2 * 3600.0
Y2020_S = datetime(2020, 1, 1, tzinfo=ZoneInfo("UTC")).timestamp()
#: A record's wall time is that of its sample; its monotonic time is taken when the store takes it, after the
#: sensor was read (simulated conversion times): a synchronised record's wall time is at most this much earlier.
SAMPLE_TO_STORE_S = 5.0


def _booted_at_1970(tmp_path: Path):
    return hall_box(tmp_path, hall_world("2026-01-12T00:00", "1d"),
                    agent_clock=lambda true: ClockFrom1970(true, SYNC_AFTER_S))


def _check_true_times(serve: ServeProcess, before: dict) -> int:
    """Every record of every lane is in the fleet once, its time the true one; the records of the first two hours."""
    counts = fleet_counts(serve.db_path)
    first_hours = 0
    with fleet_store(serve.db_path) as store:
        for lane in LANES:
            last = before[lane]["last"]
            assert counts[lane] == (last, last) and store.missing(DEVICE, lane) == [], lane
            for r in store.records(DEVICE, lane):
                true_s = START_S + r.mono_s
                assert r.ts is not None and Y2020_S <= r.ts <= time.time(), (lane, r)
                if r.mono_s < SYNC_AFTER_S:
                    first_hours += 1
                    assert abs(r.ts - true_s) < 1e-3, (lane, r)  # mono + the offset learned at the sync
                else:
                    assert r.clock == "synced" and -1e-3 <= true_s - r.ts <= SAMPLE_TO_STORE_S, (lane, r)
        assert store.counts(DEVICE).untrusted == 0
    return first_hours


def test_sync_clock_hil_the_two_hours_before_the_sync_are_stored_at_their_true_time(broker: Broker,
                                                                                     tmp_path: Path) -> None:
    serve = ServeProcess(broker, tmp_path).start()
    try:
        with _booted_at_1970(tmp_path) as sim:
            sim.run_until(START + timedelta(hours=3))
            sim.stop_agent()
            sim.clock.advance(120.0)
            db = sim.config.agent.db_path
            unsynced = read(db, "SELECT count(*), max(wall_s) FROM outbox WHERE synced = 0")[0]
            assert unsynced[0] > 600 and unsynced[1] < SYNC_AFTER_S  # stamped 1970 + mono in the box's outbox
            before = box_lanes(db)
            assert sim.agent_clock is not None
            with running_link(link_config(broker, tmp_path), sim.agent_clock, db) as link:
                wait_drained(db, link, timeout_s=45.0)
        assert serve.terminate() == 0
    finally:
        serve.close()
    assert _check_true_times(serve, before) == unsynced[0]
    corrected = serve.rows("SELECT count(*) FROM records WHERE clock = 'corrected'")[0][0]
    assert corrected == unsynced[0]  # the box corrected them before they left


def test_sync_clock_hil_records_sent_before_the_sync_get_their_time_when_the_offset_comes(broker: Broker,
                                                                                          tmp_path: Path) -> None:
    serve = ServeProcess(broker, tmp_path).start()
    config = link_config(broker, tmp_path, batch_age_total_s=0.0, batch_age_raw_s=0.0)
    try:
        with _booted_at_1970(tmp_path) as sim:
            db = sim.config.agent.db_path
            assert sim.agent_clock is not None
            sim.run_until(START + timedelta(hours=1))
            with running_link(config, sim.agent_clock, db) as link:  # the box's clock still says 1970
                wait_drained(db, link, timeout_s=45.0)
            early = serve.rows("SELECT count(*), count(ts), max(wall_s) FROM records")[0]
            assert early[0] > 300 and early[1] == 0 and early[2] < SYNC_AFTER_S  # held, with no time
            sim.run_until(START + timedelta(hours=3))
            sim.stop_agent()
            before = box_lanes(db)
            with running_link(config, sim.agent_clock, db) as link:
                wait_drained(db, link, timeout_s=45.0)
        assert serve.terminate() == 0
    finally:
        serve.close()
    fixed = serve.rows("SELECT count(*) FROM records WHERE clock = 'unsynced' AND ts IS NOT NULL")[0][0]
    assert fixed == early[0]
    assert _check_true_times(serve, before) > early[0]
