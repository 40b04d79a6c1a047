"""Street lighting through the real agent, drivers and simulated chips, in a simulated world."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from astral import Observer
from astral.sun import sun
from simbox import HALL_ZONE, PARIS, box_run, local

from edge.technician.reports import set_relay

HALL_SITE = Observer(latitude=45.187, longitude=5.726)


def _sun(day: date) -> dict[str, datetime]:
    return sun(HALL_SITE, date=day, tzinfo=PARIS)


def _world(start: str, duration: str, extra: str = "", cloud_cover: float = 0.0) -> str:
    return f"""
[site]
start = "{start}"
duration = "{duration}"
seed = 7

[light]
cloud_cover = {cloud_cover}
{extra}
{HALL_ZONE}
"""


def test_agent_lighting_on_at_dusk_off_at_dawn_and_dark_in_the_cutoff(tmp_path: Path) -> None:
    # Tuesday 17 March: dusk, cut-off 23:00-05:30, back on in the dark morning, off at dawn.
    with box_run(tmp_path, _world("2026-03-17T12:00", "1d")) as run:
        run.run_until(local("2026-03-18T12:00"))
        trace = run.traces["street-lights"]
    sunset = _sun(date(2026, 3, 17))["sunset"]
    sunrise = _sun(date(2026, 3, 18))["sunrise"]
    switches = trace.switches()
    assert [on for _, on in switches] == [True, False, True, False], switches
    (lit, _), (cut, _), (relit, _), (dawn, _) = switches
    assert sunset <= lit <= sunset + timedelta(minutes=45)
    assert local("2026-03-17T23:00") <= cut <= local("2026-03-17T23:01")
    assert local("2026-03-18T05:30") <= relit <= local("2026-03-18T05:31")
    assert sunrise - timedelta(minutes=45) <= dawn <= sunrise


def test_agent_lighting_cutoff_holds_and_the_fete_stays_lit(tmp_path: Path) -> None:
    # The nights of 13 and 14 July are declared exceptions (lit all night); the 15th is a normal night.
    with box_run(tmp_path, _world("2026-07-13T18:00", "3d")) as run:
        run.run_until(local("2026-07-16T08:00"))
        trace = run.traces["street-lights"]
    for night in ("2026-07-13", "2026-07-14"):
        next_day = (date.fromisoformat(night) + timedelta(days=1)).isoformat()
        for hour in ("23:30", "01:00", "03:00", "05:00"):
            day = night if hour > "12:00" else next_day
            assert trace.at(local(f"{day}T{hour}")), f"dark during the fete at {day} {hour}"
    minute = local("2026-07-15T23:01")  # the agent acts at its first tick from 23:00
    while minute < local("2026-07-16T05:30"):
        assert not trace.at(minute), f"lit in the cut-off at {minute}"
        minute += timedelta(minutes=1)


def test_agent_lighting_storm_at_noon_does_not_light_the_village(tmp_path: Path) -> None:
    storm = '[[light.storms]]\nstart = "2026-01-20T11:00"\nduration = "3h"\nlight_pct = 8\n'
    with box_run(tmp_path, _world("2026-01-20T09:30", "8h", storm, cloud_cover=0.9)) as run:
        run.run_until(local("2026-01-20T16:00"))
        trace = run.traces["street-lights"]
    assert trace.switches() == []
    assert not trace.at(local("2026-01-20T12:30"))


def test_agent_lighting_lux_unplugged_falls_back_to_the_astronomical_clock(tmp_path: Path) -> None:
    fault = '[[faults]]\nsensor = "lux-roof"\nkind = "unplugged"\nstart = "2026-01-22T15:00"\nduration = "1d"\n'
    world = _world("2026-01-22T12:00", "12h") + fault
    with box_run(tmp_path, world) as run:
        run.run_until(local("2026-01-22T20:00"))
        trace = run.traces["street-lights"]
        fallbacks = run.events(kind="fallback", source="street-main")
        faults = run.events(kind="fault", source="lux-roof")
    sunset = _sun(date(2026, 1, 22))["sunset"]
    switches = trace.switches()
    assert len(switches) == 1 and switches[0][1] is True
    assert abs(switches[0][0] - sunset) <= timedelta(minutes=10)
    assert faults and faults[0].data["code"] == "not_plugged"
    assert fallbacks and local("2026-01-22T15:00") <= fallbacks[0].at <= local("2026-01-22T15:02")


def test_agent_lighting_power_cut_at_2200_restarts_dark_in_the_cutoff(tmp_path: Path) -> None:
    cut = '[[power_cuts]]\nstart = "2026-01-15T22:00"\nend = "2026-01-15T23:30"\n'
    with box_run(tmp_path, _world("2026-01-15T16:00", "9h") + cut) as run:
        run.run_until(local("2026-01-15T21:59"))
        assert run.traces["street-lights"].at(local("2026-01-15T21:58")), "not lit before the cut"
        run.run_until(local("2026-01-15T23:31"))
        assert run.sim.agent is not None, "the agent did not come back"
        trace = run.traces["street-lights"]
        starts = run.events(kind="agent")
    assert not trace.at(local("2026-01-15T23:30"))
    assert not trace.at(local("2026-01-15T23:31"))
    assert starts[-1].data["unclean"] is True


def test_agent_lighting_power_cut_ending_0545_in_winter_restarts_lit(tmp_path: Path) -> None:
    cut = '[[power_cuts]]\nstart = "2026-01-16T03:00"\nend = "2026-01-16T05:45"\n'
    with box_run(tmp_path, _world("2026-01-16T02:00", "4h") + cut) as run:
        run.run_until(local("2026-01-16T05:44"))
        assert not run.traces["street-lights"].at(local("2026-01-16T05:40"))
        run.run_until(local("2026-01-16T05:47"))
        trace = run.traces["street-lights"]
        boot = [e for e in run.events(kind="decision", source="street-main") if e.at >= local("2026-01-16T05:45")]
    # The first decision of the rebooted agent, at the very tick it starts, lights the dark morning.
    assert boot and boot[0].data["on"] is True and boot[0].at <= local("2026-01-16T05:45:01"), boot
    assert trace.at(local("2026-01-16T05:46:30"))


def test_agent_lighting_override_expires_on_time(tmp_path: Path) -> None:
    with box_run(tmp_path, _world("2026-04-07T11:00", "5h")) as run:
        run.run_until(local("2026-04-07T12:00"))
        technician = run.technician_store()
        outcome = set_relay(
            technician, run.config, "street-lights", "on", local("2026-04-07T12:00"), duration=timedelta(hours=2)
        )
        technician.close()
        assert outcome.accepted, outcome.message
        run.run_until(local("2026-04-07T14:30"))
        trace = run.traces["street-lights"]
        expired = [e for e in run.events(kind="override") if e.data.get("action") == "cleared"]
    assert [on for _, on in trace.switches()] == [True, False]
    (lit, _), (unlit, _) = trace.switches()
    assert local("2026-04-07T12:00") <= lit <= local("2026-04-07T12:01:05")
    assert local("2026-04-07T14:00") <= unlit <= local("2026-04-07T14:01:05")
    assert expired and "expired" in expired[0].reason
