"""Faults through the real agent: stuck and unplugged sensors, a contactor that disobeys, SD-card writes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from simbox import HALL_ZONE, box_run, local


def _world(start: str, duration: str, extra: str = "") -> str:
    site = f'[site]\nstart = "{start}"\nduration = "{duration}"\nseed = 3\n'
    return f"{site}\n[light]\ncloud_cover = 0.3\n{extra}{HALL_ZONE}"


def test_agent_stuck_lux_sensor_is_a_fault_and_lighting_falls_back_then_recovers(tmp_path: Path) -> None:
    stuck = '[[faults]]\nsensor = "lux-roof"\nkind = "stuck"\nstart = "2026-01-12T09:00"\nend = "2026-01-13T09:00"\n'
    edit = lambda text: text.replace("[agent]\n", "[agent]\nstuck_after_s = 10800\n")  # noqa: E731
    with box_run(tmp_path, _world("2026-01-12T08:00", "30h", stuck), edit=edit) as run:
        run.run_until(local("2026-01-13T14:00"))
        faults = run.events(kind="fault", source="lux-roof")
        cleared = run.events(kind="fault_cleared", source="lux-roof")
        fallbacks = run.events(kind="fallback", source="street-main")
        trace = run.traces["street-lights"]
    assert faults and faults[0].data["code"] == "stuck"
    assert local("2026-01-12T12:00") <= faults[0].at <= local("2026-01-12T12:05")
    assert [e.data["active"] for e in fallbacks] == [True, False]
    assert cleared and local("2026-01-13T09:00") <= cleared[0].at <= local("2026-01-13T09:10")
    # Stuck on a bright morning value, the sensor would keep the village dark: the clock lit it.
    assert trace.at(local("2026-01-12T19:00"))


def test_agent_contactor_feedback_mismatch_is_a_fault_event(tmp_path: Path) -> None:
    with box_run(tmp_path, _world("2026-01-12T15:00", "6h")) as run:
        run.run_until(local("2026-01-12T16:00"))
        run.sim.hardware.parts.lamps["street-lights"].fault = "stuck_open"
        run.run_until(local("2026-01-12T19:00"))
        faults = run.events(kind="fault", source="street-lights")
        decisions = run.events(kind="decision", source="street-main")
    lit = [d for d in decisions if d.data["on"]]
    assert lit, "the lights were never ordered on"
    assert faults and faults[0].data["code"] == "feedback_mismatch"
    assert lit[0].at <= faults[0].at <= lit[0].at + timedelta(minutes=2)


def test_agent_writes_the_sd_card_a_few_times_a_minute_at_most(tmp_path: Path) -> None:
    with box_run(tmp_path, _world("2026-03-02T00:00", "1d")) as run:
        store = run.sim.agent.store
        before = store.commit_count
        run.run_until(local("2026-03-03T00:00"))
        commits = run.sim.agent.store.commit_count - before
        readings = len(run.sim.agent.store.readings("lux-roof", "illuminance_lx"))
    minutes = 24 * 60
    assert readings >= minutes - 5, "lux was not sampled every minute"
    assert commits <= minutes / 2 + 20, f"{commits} commits in a day"
    assert commits / minutes <= 3
