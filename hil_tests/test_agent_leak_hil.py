"""Leak watch through the real agent, pulse meters on simulated GPIO, and a simulated world."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from simbox import INLET, box_run, local

from edge.technician.reports import ack_alarm, set_relay

#: A public building's box reduced to its 1 L/pulse water meter and leak watch.
BUILDING_BOX = """
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
debounce_s = 0.005
interval_s = 600

[agent]
db_path = "/var/lib/hameau/hameau.db"
commit_interval_s = 120

[[leak]]
id = "leak-school"
meter = "water-main"
"""


def _building_world(start: str, duration: str, leak: str = "") -> str:
    return f"""
[site]
start = "{start}"
duration = "{duration}"
seed = 5

[[water.meters]]
sensor = "water-main"
profile = "building"
night_lph = 0.0
day_lph = 40.0
noise_pct = 30.0
{leak}
"""


def _alarms(run, source: str) -> list:
    return run.events(kind="alarm", source=source)


def test_agent_leak_building_2lph_leak_flagged_within_3_nights(tmp_path: Path) -> None:
    leak = '[[water.leaks]]\nmeter = "water-main"\nstart = "2026-01-20T14:00"\nrate_lph = 2.0\n'
    world = _building_world("2026-01-04T00:00", "20d", leak)
    with box_run(tmp_path, world, box=BUILDING_BOX) as run:
        run.run_until(local("2026-01-20T14:00"))
        assert _alarms(run, "leak-school") == [], "alarm before the leak"
        run.run_until(local("2026-01-23T06:00"))  # three night analyses after the leak began
        alarms = _alarms(run, "leak-school")
    assert alarms, "a 2 L/h leak was not flagged within 3 nights"
    first = alarms[0]
    assert first.at - local("2026-01-20T14:00") <= timedelta(hours=3 * 24)
    assert first.data["alarm_kind"] in {"night_flow", "continuous_flow"}
    assert first.data["evidence"], "the alarm carries no evidence"


def test_agent_leak_building_60_leak_free_days_raise_no_alarm(tmp_path: Path) -> None:
    world = _building_world("2026-02-01T00:00", "60d")
    with box_run(tmp_path, world, box=BUILDING_BOX) as run:
        run.run_until(local("2026-04-02T00:00"))
        alarms = _alarms(run, "leak-school")
        agent = run.sim.agent
        assert agent is not None
        state = agent.controllers[0].state_to_dict(agent.states["leak-school"])
    assert alarms == []
    assert state["mode"] == "watching", state["reason"]


def _inlet_world(start: str, duration: str, extra: str) -> str:
    return f"""
[site]
start = "{start}"
duration = "{duration}"
seed = 31

[[zones]]
id = "cabinet"
thermometers = ["cabinet-temp"]
heater = "cabinet-heater"
loss_w_per_k = 15.0
capacity_kj_per_k = 1500.0
initial_c = 8.0

[water]
valve = "inlet-valve"
valve_closed_when = "energised"

[[water.meters]]
sensor = "inlet-meter"
profile = "village"
night_lph = 400.0
night_variation_pct = 8.0
day_lph = 4500.0
noise_pct = 10.0
{extra}
"""


@pytest.mark.slow
def test_agent_leak_inlet_20pct_leak_flagged_within_7_nights_without_false_alarm(tmp_path: Path) -> None:
    leak = '[[water.leaks]]\nmeter = "inlet-meter"\nstart = "2026-02-02T13:00"\nrate_lph = 80.0\n'
    with box_run(tmp_path, _inlet_world("2026-01-01T00:00", "40d", leak), box=INLET) as run:
        run.run_until(local("2026-02-02T13:00"))
        assert _alarms(run, "leak-inlet") == [], "false alarm while learning and watching"
        run.run_until(local("2026-02-09T06:00"))  # seven night analyses after the leak began
        alarms = _alarms(run, "leak-inlet")
    assert alarms and alarms[0].data["alarm_kind"] == "night_flow"
    nights = alarms[0].data["evidence"].get("night_flows_lph") or alarms[0].data["evidence"]
    assert nights


def test_agent_leak_burst_closes_the_valve_until_acknowledged(tmp_path: Path) -> None:
    burst = '[[water.bursts]]\nmeter = "inlet-meter"\nstart = "2026-11-08T03:10"\nduration = "8h"\nrate_lph = 6000.0\n'
    with box_run(tmp_path, _inlet_world("2026-11-07T20:00", "1d", burst), box=INLET) as run:
        run.run_until(local("2026-11-08T03:10"))
        assert not run.traces["inlet-valve"].at(local("2026-11-08T03:09")), "valve closed before the burst"
        run.run_until(local("2026-11-08T03:40"))
        valve = run.traces["inlet-valve"]
        closes = [t for t, on in valve.switches() if on]
        assert closes and closes[0] <= local("2026-11-08T03:10") + timedelta(minutes=10 + 12)
        assert run.sim.world.valve_closed
        flowed = run.sim.world.volume_l("inlet-meter")
        run.run_until(local("2026-11-08T04:00"))
        assert run.sim.world.volume_l("inlet-meter") == pytest.approx(flowed), "water still flows"
        technician = run.technician_store()
        refused = set_relay(technician, run.config, "inlet-valve", "off", run.sim.now, duration=timedelta(hours=1))
        assert not refused.accepted and "burst" in refused.message.lower(), refused.message
        latched = [a for a in technician.latched_alarms() if a.kind == "burst"]
        assert latched
        alarm, _ = ack_alarm(technician, latched[0].id, "technician:test", run.sim.now)
        technician.close()
        assert alarm is not None
        run.run_until(local("2026-11-08T04:05"))
        assert not run.traces["inlet-valve"].at(local("2026-11-08T04:04:30")), "valve still closed after the ack"
