"""One fault, one fault: a controller or a driver that raises, or a saved state of garbage, in the real agent.

The other controllers go on deciding exactly as they would without it, the faulted one's relays follow its
fallback (the sun and the cut-off, the frost duty cycle, the valve its latched burst closed), and the
technician sees why (`fault` events, `status`). Expected times come from the scenario: the box's config
(cut-off 23:00-05:30, 60 % of each hour, burst_min 10), and sunrise and sunset at the town hall (45.187 N,
5.726 E) on 2026-01-15/16 by the sunrise equation of tests/test_controller_fallbacks.py: 17:20 and 08:12 CET.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from simbox import HALL, HALL_ZONE, INLET, BoxRun, Trace, local
from tmp117_part import PART as TMP117
from tmp117_part import TMP117 as TMP117Driver

from drivers.sim import ram_tempdir
from drivers.sim.clock import SimClock
from edge.config.box import BoxConfig
from edge.config.loader import load_config, parse_config
from edge.controllers.base import Controller, Decision, Job, SensorInput
from edge.controllers.heating.controller import HeatingController, HeatingState
from edge.controllers.leak.controller import LeakController
from edge.controllers.lighting.controller import LightingController
from edge.controllers.overrides import Override
from edge.parts.registry import REGISTRY
from edge.runtime.agent import Agent, build_controllers
from edge.runtime.calendar import SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from edge.simulation.simulate import open_simulation
from edge.simulation.world_file import load_world
from edge.storage.keeper import StoreKeeper
from edge.storage.store import Store
from edge.technician.render import render_status
from edge.technician.reports import set_relay, status_report

SUNSET = local("2026-01-15T17:20")
SUNRISE = local("2026-01-16T08:12")
#: The sunrise equation is good to about a minute; the agent decides once a simulated minute.
SUN_TOLERANCE = timedelta(minutes=3)
#: From sunset to civil dusk (sun 6° below the horizon), and from civil dawn to sunrise, at the hall in January.
CIVIL_TWILIGHT = timedelta(minutes=36)

Controllers = Callable[[BoxConfig], Sequence[Controller[Any]]]


class Broken:
    """A controller with a bug in every call that decides: decide and its nightly job raise."""

    id = "broken"
    relays: tuple[str, ...] = ()
    inputs = ("lux-roof.illuminance_lx",)
    jobs = (Job("nightly", "03:00"),)

    def initial_state(self) -> dict[str, int]:
        return {"ticks": 0}

    def decide(self, state: Any, inputs: Mapping[str, SensorInput], overrides: Mapping[str, Override],
               now: datetime, *, starting: bool = False, acks: frozenset[str] = frozenset()) -> Decision[Any]:
        return Decision({"ticks": state["ticks"] + 1 // (len(state) - 1)})  # len(state) is 1: ZeroDivisionError

    def run_job(self, name: str, state: Any, now: datetime) -> Decision[Any]:
        raise RuntimeError(f"job {name} is not written yet")

    def state_to_dict(self, state: Any) -> dict[str, Any]:
        return dict(state)

    def state_from_dict(self, data: Mapping[str, Any]) -> Any:
        return dict(data)

    def state_to_json(self, state: Any, dumps: Callable[[Any], str]) -> str:
        return dumps(state)

    def state_summary(self, state: Any) -> tuple[str, str]:
        return "counting", f"{state['ticks']} ticks"


def _until(cls: type, healed_at: datetime | None = None, broken_from: datetime | None = None) -> type:
    """A real controller of `cls` whose decide raises from `broken_from` until `healed_at`."""

    class Faulty(cls):  # type: ignore[misc, valid-type]
        def decide(self, state: Any, inputs: Any, overrides: Any, now: datetime, **kw: Any) -> Any:
            if (broken_from is None or now >= broken_from) and (healed_at is None or now < healed_at):
                raise KeyError("setpoint")
            return super().decide(state, inputs, overrides, now, **kw)

    Faulty.__name__ = cls.__name__  # the status names the kind after the class
    return Faulty


def _replacing(kind: type, faulty: type) -> Controllers:
    return lambda config: [
        faulty(c.config, config.device) if isinstance(c, kind) else c for c in build_controllers(config)
    ]


@contextmanager
def _box(tmp_path: Path, world: str, data_dir: Path, *, box: Path = HALL, controllers: Controllers | None = None,
         edit: Callable[[str], str] = lambda text: text) -> Iterator[BoxRun]:
    """The real agent (with `controllers` if given) on the simulated box, in `world`; stopped cleanly at the end."""
    config_path = tmp_path / "box.toml"
    text = re.sub(r'(?m)^db_path = ".*"', f'db_path = "{data_dir / "hameau.db"}"', edit(box.read_text("utf-8")))
    config_path.write_text(text, encoding="utf-8")
    config = load_config(config_path)
    world_path = tmp_path / "world.toml"
    world_path.write_text(world, encoding="utf-8")
    sim = open_simulation(config, load_world(world_path, config.device, config), db_path=config.agent.db_path,
                          record=False)
    try:
        sim.world.update(sim.now, 0.0)
        store = StoreKeeper(config.agent, now=sim.clock.now, monotonic=sim.clock.monotonic)
        chosen = None if controllers is None else controllers(config)
        sim.agent = Agent(config, sim.hardware, store, sim.clock, SimCalendar(), controllers=chosen)
        sim.agent.start()
        run = BoxRun(sim, config, {relay.id: Trace() for relay in config.actuators})
        for relay_id, trace in run.traces.items():
            trace.points.append((sim.now, sim.hardware.parts.relay_energised(relay_id)))
        yield run
    finally:
        sim.close()


def _hall_world(start: str, duration: str) -> str:
    return f'[site]\nstart = "{start}"\nduration = "{duration}"\nseed = 5\n\n[light]\ncloud_cover = 0.3\n{HALL_ZONE}'


def _at_minute(at: datetime, wall: str) -> bool:
    """Within the agent's tick (a simulated minute) after a wall time at the box."""
    return local(wall) <= at < local(wall) + timedelta(minutes=1)


def _status(run: BoxRun) -> str:
    with run.technician_store() as technician:
        return render_status(status_report(technician, run.config, run.sim.now))


def _decisions(run: BoxRun) -> list[tuple[datetime, str, str]]:
    return [(e.at, e.source, e.reason) for e in run.events(kind="decision") if e.source != "broken"]


def test_agent_containment_a_raising_controller_leaves_the_others_deciding_as_without_it(tmp_path: Path) -> None:
    world, end = _hall_world("2026-01-15T15:00", "20h"), local("2026-01-16T10:00")
    with ram_tempdir("hameau-ref-") as ref_dir, _box(tmp_path, world, Path(ref_dir)) as reference:
        reference.run_until(end)
        expected_traces, expected_decisions = reference.traces, _decisions(reference)
    extra: Controllers = lambda config: [*build_controllers(config), Broken()]
    with ram_tempdir("hameau-broken-") as data_dir, _box(tmp_path, world, Path(data_dir), controllers=extra) as run:
        run.run_until(end)
        faults = run.events(kind="fault", source="broken")
        decisions = _decisions(run)
        status = _status(run)
        snapshot = run.sim.agent.status_snapshot(run.sim.now)
    # The street lights and the heating did to the minute what they did without the broken controller...
    assert {r: t.points for r, t in run.traces.items()} == {r: t.points for r, t in expected_traces.items()}
    assert decisions == expected_decisions
    # ... which is what the scenario says: lit after sunset, dark 23:00-05:30, lit again until sunrise.
    lights = run.traces["street-lights"]
    assert [on for _, on in lights.switches()] == [True, False, True, False]
    (lit, cut, relit, dawn) = (t for t, _ in lights.switches())
    # By the lux sensor (30 lx to light, 60 lx to stop): the sky gives hundreds of lux with the sun up and
    # a few at civil dusk and dawn (sun 6° down: 36 min from sunset or sunrise here in January).
    assert SUNSET < lit <= SUNSET + CIVIL_TWILIGHT, lit
    assert _at_minute(cut, "2026-01-15T23:00") and _at_minute(relit, "2026-01-16T05:30"), (cut, relit)
    assert SUNRISE - CIVIL_TWILIGHT <= dawn < SUNRISE, dawn
    assert run.traces["hall-heating"].switches(), "the heating never switched"
    # One event per fault over 19 hours of ticks: decide from the start, the nightly job at 03:00.
    assert [(f.data["call"], f.data["error"]) for f in faults] == [("decide", "ZeroDivisionError"),
                                                                   ("job nightly", "RuntimeError")]
    assert faults[0].reason == ("controller broken: decide raised ZeroDivisionError: integer division or modulo by zero; "
                               "it drives no relay")
    assert _at_minute(faults[1].at, "2026-01-16T03:00"), faults[1].at
    assert snapshot["controllers"]["broken"]["mode"] == "fault"
    assert ("  broken  broken, mode fault: decide raised ZeroDivisionError: integer division or modulo by zero; "
            "job nightly raised RuntimeError: job nightly is not written yet; it drives no relay") in status, status
    assert "street-main  lighting, mode lux" in status


def test_agent_containment_lighting_raising_follows_the_sun_and_the_cut_off(tmp_path: Path) -> None:
    faulty = _replacing(LightingController, _until(LightingController))
    with ram_tempdir("hameau-") as data_dir, _box(tmp_path, _hall_world("2026-01-15T15:00", "20h"), Path(data_dir),
                                                  controllers=faulty) as run:
        run.run_until(local("2026-01-16T10:00"))
        faults = run.events(kind="fault", source="street-main")
        status = _status(run)
    switches = run.traces["street-lights"].switches()
    assert [on for _, on in switches] == [True, False, True, False]
    assert abs(switches[0][0] - SUNSET) <= SUN_TOLERANCE, switches[0][0]
    assert _at_minute(switches[1][0], "2026-01-15T23:00") and _at_minute(switches[2][0], "2026-01-16T05:30")
    assert abs(switches[3][0] - SUNRISE) <= SUN_TOLERANCE, switches[3][0]
    assert len(faults) == 1 and faults[0].data["error"] == "KeyError", faults
    assert "street-main  lighting, mode fault: decide raised KeyError: 'setpoint'; fallback: astronomical clock" in status


def test_agent_containment_a_fallback_that_raises_too_puts_the_relays_in_their_safe_state(tmp_path: Path) -> None:
    class NoCutoff(_until(LightingController)):  # type: ignore[misc, valid-type]
        def __init__(self, config: Any, device: Any) -> None:
            super().__init__(replace(config, cutoff=None), device)  # its fallback cannot read the cut-off either

    with ram_tempdir("hameau-") as data_dir, _box(tmp_path, _hall_world("2026-01-15T11:00", "2h"), Path(data_dir),
                                                  controllers=_replacing(LightingController, NoCutoff)) as run:
        run.run_until(local("2026-01-15T13:00"))
        faults = run.events(kind="fault", source="street-main")
        snapshot = run.sim.agent.status_snapshot(run.sim.now)
    # Midday: lux and the sun would keep the lights off; the relay's safe_state ("on") holds instead.
    assert all(on for _, on in run.traces["street-lights"].points[1:])
    assert len(faults) == 1, faults
    reason = snapshot["controllers"]["street-main"]["reason"]
    assert reason.startswith("decide raised KeyError: 'setpoint'; relays to their safe state (fallback raised "
                             "AttributeError"), reason
    assert snapshot["relays"]["street-lights"]["decided_by"] == "street-main (safe state)"


COLD = """
[site]
start = "2026-02-02T00:00"
duration = "6h"
seed = 11

[outdoor]
annual_mean_c = 11.5
annual_swing_c = 9.0
daily_swing_c = 4.5
day_to_day_c = 1.0

[[outdoor.cold_snaps]]
start = "2026-02-01T00:00"
duration = "6d"
temperature_c = -12.0
""" + HALL_ZONE.replace("initial_c = 17.0", "initial_c = 5.0")


def test_agent_containment_heating_raising_in_a_cold_snap_runs_the_frost_duty_cycle_then_recovers(
    tmp_path: Path,
) -> None:
    healed = local("2026-02-02T04:00")
    faulty = _replacing(HeatingController, _until(HeatingController, healed_at=healed))
    with ram_tempdir("hameau-") as data_dir, _box(tmp_path, COLD, Path(data_dir), controllers=faulty) as run:
        run.run_until(local("2026-02-02T02:00"))
        snapshot = run.sim.agent.status_snapshot(run.sim.now)
        with run.technician_store() as technician:
            refused = set_relay(technician, run.config, "hall-heating", "off", run.sim.now)
        run.run_until(local("2026-02-02T05:00"))
        faults = run.events(kind="fault", source="hall")
        cleared = run.events(kind="fault_cleared", source="hall")
        state = run.sim.agent.states["hall"]
    heater = run.traces["hall-heating"]
    # Faulted, 60 % of each hour from the whole hour: on for minutes 0-35, off for 36-59, every minute of it.
    during = [(t, on) for t, on in heater.points if t < healed]
    assert len(during) >= 4 * 60
    wrong = [(t, on) for t, on in during if on != (t.timestamp() % 3600 < 0.6 * 3600)]
    assert wrong == []
    assert len(faults) == 1 and "frost-protection duty cycle 60 % of 60 min" in faults[0].reason
    assert snapshot["controllers"]["hall"]["mode"] == "fault"
    assert "frost-protection" in snapshot["interlocks"]["hall-heating"]
    assert not refused.accepted, refused.message
    # Healed, it decides again at once: the hall is below 7 °C, so frost protection heats all the time.
    assert len(cleared) == 1 and _at_minute(cleared[0].at, "2026-02-02T04:00"), cleared
    assert isinstance(state, HeatingState) and state.mode == "frost"
    assert all(on for t, on in heater.points if t >= healed + timedelta(minutes=1))


def _inlet_world(extra: str) -> str:
    return f"""
[site]
start = "2026-11-08T12:00"
duration = "10h"
seed = 31

[water]
valve = "inlet-valve"
valve_closed_when = "energised"

[[water.meters]]
sensor = "inlet-meter"
profile = "village"
night_lph = 400.0
day_lph = 4500.0
noise_pct = 10.0
{extra}
"""


def test_agent_containment_leak_raising_after_a_burst_keeps_the_valve_shut(tmp_path: Path) -> None:
    burst = '[[water.bursts]]\nmeter = "inlet-meter"\nstart = "2026-11-08T14:00"\nduration = "8h"\nrate_lph = 10000.0\n'
    broken_from = local("2026-11-08T14:30")
    faulty = _replacing(LeakController, _until(LeakController, broken_from=broken_from))
    night_out = lambda text: text.replace("continuous_flow = false\n", "continuous_flow = false\nwarmup_nights = 60\nbaseline_nights = 60\n")
    with ram_tempdir("hameau-") as data_dir, _box(tmp_path, _inlet_world(burst), Path(data_dir), box=INLET,
                                                  controllers=faulty, edit=night_out) as run:
        run.run_until(broken_from)
        closed = [t for t, on in run.traces["inlet-valve"].switches() if on]
        run.run_until(local("2026-11-08T16:00"))
        with run.technician_store() as technician:
            refused = set_relay(technician, run.config, "inlet-valve", "off", run.sim.now)
        run.run_until(local("2026-11-08T20:00"))
        faults = run.events(kind="fault", source="leak-inlet")
        status = _status(run)
    assert len(closed) == 1 and local("2026-11-08T14:00") < closed[0] <= local("2026-11-08T14:11")
    assert run.traces["inlet-valve"].switches(since=closed[0] + timedelta(minutes=1)) == []
    assert run.traces["inlet-valve"].at(local("2026-11-08T19:59"))
    assert len(faults) == 1 and _at_minute(faults[0].at, "2026-11-08T14:30"), faults
    assert not refused.accepted and "burst" in refused.message, refused.message
    assert "leak-inlet  leak, mode fault: decide raised KeyError: 'setpoint'; fallback: valve closed: burst alarm" in status


#: What each garbage does (the database holds text, the safety copy JSON values), and the reason expected.
GARBAGE: dict[str, dict[str, tuple[Any, str]]] = {
    "database": {
        "controller:hall": ('{"state_version": 1, "on": ', "StateError: not JSON: JSONDecodeError: Expecting value"),
        "controller:street-main": ('{"state_version": 7, "on": true}', "its layout version 7 is not one this agent reads"),
        "agent": ('"garbage"', "'garbage'"),
        "meter:water-main": ('{"total_l": "lots"}', "{'total_l': 'lots'}"),
    },
    "safety copy": {
        "controller:hall": ([1, 2, 3], "StateError: not a JSON object but list"),
        "controller:street-main": ({"on": "maybe"}, "StateError: on: 'maybe' is not a LightingState.on"),
        "agent": (17, "17"),
        "meter:water-main": ({"total_l": -5.0}, "{'total_l': -5.0}"),
    },
}


def _spoil(data_dir: Path, where: str) -> None:
    """Put GARBAGE[where] in the stopped box's database, or in its safety copy (then newer than the database)."""
    db, copy_path = data_dir / "hameau.db", data_dir / "hameau.db.safety.json"
    if where == "database":
        copy_path.unlink()  # else the readable copy's states are taken over the garbage (tests/test_store_keeper.py)
        with sqlite3.connect(db) as conn:
            for key, (text, _) in GARBAGE[where].items():
                assert conn.execute("UPDATE state SET value = ? WHERE key = ?", (text, key)).rowcount == 1, key
        conn.close()
        return
    copy = json.loads(copy_path.read_text("utf-8"))
    copy["generation"] += 1000
    for key, (value, _) in GARBAGE[where].items():
        assert key in copy["states"], key
        copy["states"][key] = value
    copy_path.write_text(json.dumps(copy), encoding="utf-8")


@pytest.mark.parametrize("where", ["database", "safety copy"])
def test_agent_containment_garbage_saved_states_are_reset_with_an_event(tmp_path: Path, where: str) -> None:
    with ram_tempdir("hameau-") as data:
        data_dir = Path(data)
        with _box(tmp_path, _hall_world("2026-01-15T15:00", "1h"), data_dir) as first:
            first.run_until(local("2026-01-15T16:00"))
            total_before = first.sim.hardware.sensors["water-main"].total_l
        _spoil(data_dir, where)
        with _box(tmp_path, _hall_world("2026-01-15T16:00", "3h"), data_dir) as run:
            start = local("2026-01-15T16:00")
            run.run_until(local("2026-01-15T19:00"))
            faults = {e.source: e for e in run.sim.agent.store.events(kind="fault", since=start)}
            decided = run.sim.agent.store.events(kind="decision", since=start, source="hall")
            state = run.sim.agent.states["hall"]
            total_l = run.sim.hardware.sensors["water-main"].total_l
        with Store(data_dir / "hameau.db", monotonic=SimClock().monotonic) as technician:
            saved = technician.load_state("controller:hall")
    # (and the leak watch sees its meter go back to 0 L: it restarts its tracking, as for a replaced meter)
    assert set(faults) == {"hall", "street-main", "agent", "water-main", "leak-hall"}, faults
    for key, (_, why) in GARBAGE[where].items():
        source = key.partition(":")[2] or key
        assert why in faults[source].reason, faults[source].reason
        assert faults[source].data["reset"] is True
        assert start <= faults[source].at < start + timedelta(seconds=10)
    assert faults["hall"].reason.startswith("controller hall: saved state unreadable (")
    assert faults["hall"].reason.endswith("): reset to its initial state")
    # Heating decides from a fresh start (Thursday 19:30 comfort: preheating or eco by then), and saves anew.
    assert decided and decided[0].at < start + timedelta(seconds=10)
    assert isinstance(state, HeatingState) and state.mode in ("eco", "preheat", "comfort")
    assert saved is not None and saved["state_version"] == 1 and saved["mode"] == state.mode
    # The meter's garbage total is dropped: it counts from 0 L again (an hour of the hall's water, 40 L/h by day).
    assert total_before > 10 and 0 < total_l < 3 * 40 * 2, (total_before, total_l)


BUGGY_BOX = """
[device]
id = "lavoir"
latitude = 45.19
longitude = 5.73
timezone = "Europe/Paris"

[buses.i2c1]
type = "i2c"
number = 1

[buses.gpio]
type = "gpio"

[[sensors]]
id = "hall-tmp"
driver = "tmp117-buggy"
bus = "i2c1"
address = 0x49
interval_s = 30

[[actuators]]
id = "hall-heating"
bus = "gpio"
pin = 24

[[heating]]
id = "hall"
relay = "hall-heating"
thermometer = "hall-tmp"

[simulation]
enabled = true
temperature_c = 12.0
"""


class BuggyTMP117(TMP117Driver):
    """A TMP117 driver with a bug: it divides by the change of the temperature since its last read."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._last: float | None = None

    def read(self) -> Any:
        readings = super().read()
        value = readings[0].value
        if self._last is not None:
            _ = 1.0 / (value - self._last)  # a held temperature: ZeroDivisionError
        self._last = value
        return readings


def test_agent_containment_a_driver_raising_a_bug_is_a_fault_of_its_sensor(tmp_path: Path) -> None:
    part = replace(TMP117, driver="tmp117-buggy", build=lambda cfg, bus, ctx: BuggyTMP117(bus, cfg.address, cfg.bus))
    config = parse_config(BUGGY_BOX, tmp_path / "box.toml", parts=REGISTRY.extended([part]))
    clock = SimClock(epoch=datetime(2026, 1, 12, 7, 0, tzinfo=UTC))
    with open_simulated_hardware(config, clock) as hardware:
        store = Store(tmp_path / "box.db", commit_interval_s=30, monotonic=clock.monotonic)
        agent = Agent(config, hardware, store, clock, SimCalendar())
        agent.start()
        try:
            assert agent.states["hall"].mode != "fallback"  # first read: nothing to divide by yet
            for minute in range(20):  # the temperature holds: every read raises
                hardware.parts.set_temperature("hall-tmp", 12.0)
                hardware.parts.advance(60.0)
                agent.step()
            faulted = agent.states["hall"].mode
            faults = store.events(kind="fault", source="hall-tmp")
            health = agent.sampler.health["hall-tmp"].snapshot()
            hardware.parts.set_temperature("hall-tmp", 12.5)
            hardware.parts.advance(60.0)
            agent.step()
            cleared = store.events(kind="fault_cleared", source="hall-tmp")
        finally:
            agent.stop()
    assert len(faults) == 1 and faults[0].data["code"] == "driver_error"
    assert "driver raised ZeroDivisionError: float division by zero" in faults[0].reason
    assert health["health"] == "fault" and "ZeroDivisionError" in str(health["fault"])
    assert faulted == "fallback"  # the heating zone's thermometer fallback, the frost duty cycle
    assert len(cleared) == 1
    assert isinstance(agent.states["hall"], HeatingState) and agent.states["hall"].mode != "fallback"
