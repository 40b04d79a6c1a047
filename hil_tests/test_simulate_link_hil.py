"""The box's real link in the simulator: a week cut off from the broker and three broker restarts, in simulated time.

The real agent on the simulated town hall box writes its outbox; the real Link and Outbox publish it through
the loopback broker to the fleet's real ingest (Handler over a SQLite fleet store). The box samples and the
agent ticks every 10 simulated minutes (the sync does not depend on the tick) so that eight days take seconds.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path

from drivers.sim import ram_tempdir
from edge.config.loader import load_config
from edge.simulation.simulate import open_simulation, simulate
from edge.simulation.world_file import load_world
from hil_tests.simbox import HALL, HALL_ZONE, local

OUTAGE_START = local("2026-01-05T06:07")  # off the 10-minute ticks: the link turns at its end
OUTAGE_END = OUTAGE_START + timedelta(days=7)
RESTARTS = ("2026-01-05T03:00", "2026-01-12T09:00", "2026-01-12T15:00")
#: A pipe bursts in the boiler room on the second day of the outage: the leak watch's alarm waits for the link.
WORLD = f"""
[site]
start = "2026-01-05T00:00"
duration = "8d"
seed = 5

[light]
sensors = ["lux-roof"]

[outdoor]
thermometers = ["outdoor-temp"]
{HALL_ZONE}
[[water.bursts]]
meter = "water-main"
start = "2026-01-06T19:00"
duration = "30h"
rate_lph = 120.0

[link]
[[link.outages]]
start = "2026-01-05T06:07"
duration = "7d"
""" + "".join(f'\n[[link.broker_restarts]]\nat = "{at}"\n' for at in RESTARTS)


def _world(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "world.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _slow_box(tmp_path: Path) -> Path:
    """The example town hall box sampling every 10 minutes."""
    path = tmp_path / "box.toml"
    path.write_text(re.sub(r"(?m)^interval_s = \d+", "interval_s = 600", HALL.read_text(encoding="utf-8")),
                    encoding="utf-8")
    return path


def test_simulated_link_week_outage_and_broker_restarts_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    config = load_config(_slow_box(tmp_path))
    spec = load_world(_world(tmp_path, WORLD), config.device, config)
    with ram_tempdir("hameau-simlink-") as tmp:
        db_path = Path(tmp) / "box.db"
        sim = open_simulation(config, spec, db_path=db_path, record=False, link=True)
        try:
            sim.world.update(sim.now, 0.0)
            sim.start_agent()
            peak_at_outage_end = 0
            sim.run_until(OUTAGE_END - timedelta(minutes=13), dt_s=600.0)
            assert sim.link is not None
            peak_at_outage_end = sim.link.peak_bytes
            sim.run_until(spec.site.end, dt_s=600.0)
        finally:
            sim.close()
        sync = sim.sync()
        fleet_path = db_path.with_name("box.fleet.db")
        with sqlite3.connect(fleet_path) as fleet:
            alarms = [(wall_s, received_at, json.loads(body)) for wall_s, received_at, body in fleet.execute(
                "SELECT wall_s, received_at, body FROM records WHERE lane = 'event' AND type = 'event' "
                "AND json_extract(body, '$.kind') = 'alarm'")]
            seqs = {lane: [s for s, in fleet.execute("SELECT seq FROM records WHERE lane = ? ORDER BY seq", (lane,))]
                    for lane in ("event", "total", "raw")}
        sim.link.broker.close()
    assert sync is not None
    assert sync["broker_restarts"] == 3
    assert sync["duplicated"] == 0
    assert sync["lost"] == 0
    assert sync["thinned"] == 0 and sync["pending"] == 0
    assert sync["produced"] > 10_000  # eight days of six sensors every 10 minutes
    assert sync["delivered"] == sync["produced"] - sync["thinned"]
    for lane, stored in seqs.items():  # every seq once, none missing
        assert stored == list(range(1, len(stored) + 1)), lane
    assert sync["lost_in_flight"] > 0  # the restarts lost messages in flight...
    assert sync["resent"] > 0  # ... and cost resends, which the fleet took once
    # The week's backlog filled the outbox, and the fleet's acks emptied it again.
    assert peak_at_outage_end > 1_000_000
    assert sync["outbox_peak_bytes"] >= peak_at_outage_end
    assert sync["outbox_end_bytes"] < sync["outbox_peak_bytes"] / 100
    # The burst's alarm was raised during the outage and reached the fleet as soon as the link came back.
    during = [(wall_s, received_at) for wall_s, received_at, _ in alarms
              if OUTAGE_START.timestamp() <= wall_s < OUTAGE_END.timestamp()]
    assert during, alarms
    for _, received_at in during:
        assert OUTAGE_END.timestamp() <= received_at < OUTAGE_END.timestamp() + 60
    assert sync["alarm_delay_max_s"] <= (OUTAGE_END - OUTAGE_START).total_seconds() + 60


def test_simulate_reports_sync_and_world_can_turn_the_link_off(tmp_path: Path) -> None:
    config = load_config(HALL)
    day = WORLD.split("[link]")[0].replace('duration = "8d"', 'duration = "1d"')
    linked = simulate(config, load_world(_world(tmp_path, day), config.device, config), 0.25)
    sync = linked["sync"]
    assert sync["produced"] > 500 and sync["delivered"] == sync["produced"]
    assert sync["duplicated"] == 0 and sync["lost"] == 0 and sync["pending"] == 0
    off = simulate(config, load_world(_world(tmp_path, day + "\n[link]\nenabled = false\n"), config.device, config),
                   0.25)
    assert off["sync"] is None
