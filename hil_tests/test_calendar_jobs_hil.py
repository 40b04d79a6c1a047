"""The calendar's daily jobs do the work: the nightly leak verdict and the store's upkeep, in simulated and real time."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from simbox import box_run, local

from drivers.sim.clock import SimClock
from edge.config.loader import parse_config
from edge.runtime.agent import Agent
from edge.runtime.calendar import ScheduleCalendar
from edge.simulation.hardware import open_simulated_hardware
from edge.storage.store import Store

#: A school's 1 L/pulse meter sampled every minute, its leak watch, and a store keeping one day of readings.
BOX = """
[device]
id = "ecole-saint-aubin"
latitude = 45.187
longitude = 5.726
timezone = "Europe/Paris"

[simulation]
enabled = true
flow_lph = 0.0

[buses.gpio]
type = "gpio"

[[sensors]]
id = "water-main"
driver = "pulse_meter"
bus = "gpio"
pin = 17
litres_per_pulse = 1.0
interval_s = 60

[agent]
db_path = "/var/lib/hameau/hameau.db"
commit_interval_s = 120
keep_readings_days = 1

[[leak]]
id = "leak-school"
meter = "water-main"
"""
WORLD = """
[site]
start = "2026-01-12T12:00"
duration = "4d"
seed = 3

[[water.meters]]
sensor = "water-main"
profile = "building"
night_lph = 0.0
day_lph = 40.0
noise_pct = 30.0
"""


class StalledCalendar:
    """A calendar whose jobs never come (a box whose calendar broke)."""

    def add_daily(self, name: str, at_local: str, tz: object, job: object) -> None:
        """Forget the job."""

    def run_pending(self, now: datetime) -> list[str]:
        """Run nothing."""
        return []


def _local_hm(event: object) -> tuple[int, int]:
    at = event.at.astimezone(local("2026-01-01T00:00").tzinfo)  # type: ignore[attr-defined]
    return at.hour, at.minute


def test_calendar_nightly_verdict_and_upkeep_run_at_their_local_times(tmp_path: Path) -> None:
    with box_run(tmp_path, WORLD, box=BOX) as run:
        run.run_until(local("2026-01-15T12:00"))
        verdicts = run.events(kind="job", source="leak-school")
        upkeeps = run.events(kind="job", source="store")
        oldest = run.sim.agent.store.readings("water-main", "volume_total_l")[0][0]
    # One verdict a morning, at night_end 05:00 + 15 min, for the night that just ended.
    assert [(e.at.astimezone(local("2026-01-13T00:00").tzinfo).date().isoformat(), _local_hm(e)) for e in verdicts] == [
        ("2026-01-13", (5, 15)), ("2026-01-14", (5, 15)), ("2026-01-15", (5, 15)),
    ]
    assert [e.data["date"] for e in verdicts] == ["2026-01-13", "2026-01-14", "2026-01-15"]
    assert {e.data["by"] for e in verdicts} == {"nightly job"}
    assert all(e.data["mnf_lph"] == 0.0 for e in verdicts)
    # The upkeep at 03:30 each morning removes what is older than a day (nothing on the first morning).
    assert [_local_hm(e) for e in upkeeps] == [(3, 30)] * 3
    assert upkeeps[0].data["readings_removed"] == 0
    # Three readings a sample (volume, flow, pulses), a sample a minute: the 14th removes 12:00 to 03:30
    # of the first day (930 samples), the 15th a whole day (1440).
    assert [e.data["readings_removed"] for e in upkeeps[1:]] == [3 * 930, 3 * 1440]
    assert all(e.data["wal_after_bytes"] == 0 < e.data["wal_before_bytes"] for e in upkeeps)
    assert oldest >= upkeeps[-1].at - timedelta(days=1)
    assert oldest < upkeeps[-1].at - timedelta(days=1) + timedelta(minutes=2)


def test_calendar_stalled_leaves_the_verdict_to_the_late_safety_net(tmp_path: Path) -> None:
    with box_run(tmp_path, WORLD, box=BOX) as run:
        run.sim.calendar = StalledCalendar
        run.sim.power_cut()
        run.sim.start_agent()
        run.run_until(local("2026-01-14T12:00"))
        verdicts = run.events(kind="job", source="leak-school")
        upkeeps = run.events(kind="job", source="store")
    # Without its job, the night is judged two hours late by the controller's own safety net.
    assert [_local_hm(e) for e in verdicts] == [(7, 15), (7, 15)]
    assert {e.data["by"] for e in verdicts} == {"late: the nightly job did not run"}
    assert upkeeps == []


def test_calendar_schedule_runs_the_agent_jobs_when_due(tmp_path: Path) -> None:
    config = parse_config(BOX.replace("/var/lib/hameau/hameau.db", str(tmp_path / "box.db")), tmp_path / "box.toml")
    clock = SimClock(epoch=datetime(2026, 1, 13, 3, 0, tzinfo=UTC))  # 04:00 in Paris, before the night's end
    with open_simulated_hardware(config, clock) as hardware:
        store = Store(config.agent.db_path, commit_interval_s=120, monotonic=clock.monotonic)
        calendar = ScheduleCalendar(clock)
        agent = Agent(config, hardware, store, clock, calendar)
        agent.start()
        try:
            names = sorted(next(iter(job.tags)) for job in calendar.scheduler.jobs)
            assert names == ["leak-school.nightly", "store.upkeep"]
            for _ in range(80):  # to 05:20, a tick a minute: past the verdict's 05:15, but schedule is not due
                hardware.parts.advance(60.0)
                agent.step()
            assert agent.states["leak-school"].analysed_through == "2026-01-12"
            for job in calendar.scheduler.jobs:
                job.next_run = datetime.now() - timedelta(seconds=1)  # schedule's own clock says: due
            agent.step()
            assert agent.states["leak-school"].analysed_through == "2026-01-13"
        finally:
            agent.stop()
    with sqlite3.connect(config.agent.db_path) as db:
        rows = db.execute("SELECT source, reason FROM events WHERE kind = 'job' ORDER BY id").fetchall()
    assert sorted(source for source, _ in rows) == ["leak-school", "store"]
    verdict = next(reason for source, reason in rows if source == "leak-school")
    assert verdict.startswith("night ending 2026-01-13: ") and verdict.endswith("[nightly job]")
