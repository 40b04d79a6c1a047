"""Heating through the real agent, drivers and simulated chips, in a simulated world."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from simbox import HALL_ZONE, box_run, local

from edge.technician.reports import set_relay

COLD_SNAP = """
[site]
start = "2026-02-01T00:00"
duration = "8d"
seed = 11

[outdoor]
annual_mean_c = 11.5
annual_swing_c = 9.0
daily_swing_c = 4.5
day_to_day_c = 1.0

[[outdoor.cold_snaps]]
start = "2026-02-02T00:00"
duration = "6d"
temperature_c = -12.0
""" + HALL_ZONE


def test_agent_heating_zone_stays_above_5c_in_a_cold_snap_with_thermometer_unplugged(tmp_path: Path) -> None:
    # Both of the zone's thermometers come loose: the zone is blind.
    unplugged = "".join(
        f'[[faults]]\nsensor = "{sensor}"\nkind = "unplugged"\nstart = "2026-02-02T06:00"\nend = "2026-02-07T18:00"\n'
        for sensor in ("hall-temp", "hall-climate")
    )
    with box_run(tmp_path, COLD_SNAP + unplugged) as run:
        coldest = 99.0
        while run.sim.now < local("2026-02-08T00:00"):
            run.run_until(run.sim.now + timedelta(minutes=30))
            coldest = min(coldest, run.sim.world.zone_temperature_c("hall"))
        fallbacks = run.events(kind="fallback", source="hall")
        heater = run.traces["hall-heating"]
    assert coldest > 5.0, f"the hall fell to {coldest:.1f} °C"
    assert [e.data["active"] for e in fallbacks][:2] == [True, False]
    assert local("2026-02-02T06:00") <= fallbacks[0].at <= local("2026-02-02T06:20")
    # Blind, the heater cycles: it is never left on for the whole fault, nor off.
    during = heater.switches(local("2026-02-03T00:00"), local("2026-02-07T00:00"))
    assert len(during) >= 8


def test_agent_heating_frost_protection_refuses_an_off_override(tmp_path: Path) -> None:
    world = COLD_SNAP.replace('start = "2026-02-01T00:00"', 'start = "2026-02-02T00:00"').replace(
        "initial_c = 17.0", "initial_c = 5.0"
    )
    with box_run(tmp_path, world) as run:
        run.run_until(local("2026-02-02T00:05"))
        assert run.sim.world.zone_temperature_c("hall") < 7.0
        technician = run.technician_store()
        outcome = set_relay(technician, run.config, "hall-heating", "off", run.sim.now, duration=timedelta(hours=4))
        technician.close()
        run.run_until(local("2026-02-02T01:00"))
        heater = run.traces["hall-heating"]
        interlocks = run.events(kind="interlock", source="hall")
    assert not outcome.accepted and "frost" in outcome.message, outcome.message
    assert not interlocks or "frost" in interlocks[0].reason
    assert heater.switches(local("2026-02-02T00:02")) == [], "the heater went off below frost protection"
    assert heater.at(local("2026-02-02T00:30:30"))
