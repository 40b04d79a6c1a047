"""`hameau-edge simulate`: the real agent against a simulated world, in simulated time."""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from drivers.sim import ram_tempdir
from drivers.sim.clock import SimClock
from drivers.sim.world import World
from drivers.sim.world_spec import WorldSpec
from edge.config.box import BoxConfig
from edge.hardware.assembly import Hardware
from edge.runtime.agent import Agent
from edge.runtime.calendar import Calendar, SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from edge.simulation.report import Recorder
from edge.storage.store import Store

STEP_S = 60.0


@dataclass
class Simulation:
    """A box, its world and its agent, advanced together one step at a time."""

    config: BoxConfig
    spec: WorldSpec
    clock: SimClock
    hardware: Hardware
    world: World
    db_path: Path
    agent: Agent | None = None
    recorder: Recorder | None = None
    #: The calendar each boot gets (a stalled one, in a test, shows what the calendar's jobs do).
    calendar: Callable[[], Calendar] = SimCalendar

    @property
    def now(self) -> datetime:
        """Simulated wall time."""
        return self.clock.now()

    def start_agent(self) -> Agent:
        """Boot the box: a fresh agent on the same database, as after a power-up."""
        store = Store(
            self.db_path, commit_interval_s=self.config.agent.commit_interval_s, monotonic=self.clock.monotonic
        )
        self.agent = Agent(self.config, self.hardware, store, self.clock, self.calendar())
        self.agent.start()
        return self.agent

    def power_cut(self) -> None:
        """The box loses power: the agent dies without a word, its relays fall."""
        if self.agent is not None:
            self.agent.abandon()
            self.agent = None

    def step(self, dt_s: float = STEP_S) -> None:
        """Let `dt_s` of world time pass, then let the agent (if powered) take its tick."""
        self._step(self.now, dt_s)

    def _step(self, now: datetime, dt_s: float) -> None:
        self.world.update(now, dt_s)
        assert self.hardware.parts is not None
        self.hardware.parts.advance(dt_s)
        if self.agent is not None:
            self.agent.step()
        if self.recorder is not None:
            self.recorder.observe(now, dt_s)

    def run_until(self, end: datetime, dt_s: float = STEP_S) -> None:
        """Step until `end`, cutting and restoring power as the world says."""
        cuts = sorted(self.spec.power_cuts, key=lambda c: c.start)
        edges = sorted({c.start for c in cuts} | {c.end for c in cuts})
        while (now := self.now) < end:
            cut = next((c for c in cuts if c.start <= now < c.end), None)
            switched = (cut is None) == (self.agent is None)
            if cut is not None and self.agent is not None:
                self.power_cut()
            elif cut is None and self.agent is None:
                self.start_agent()
            later = bisect.bisect_right(edges, now)
            next_edge = min(edges[later], end) if later < len(edges) else end
            step_s = min(dt_s, max(1.0, (next_edge - now).total_seconds()))
            if switched:
                self.step(step_s)  # booting reads the sensors, which takes simulated time
            else:
                self._step(now, step_s)

    def close(self) -> None:
        """Stop the agent cleanly and release the simulated box."""
        if self.agent is not None:
            self.agent.stop()
            self.agent = None
        self.hardware.close()


def open_simulation(config: BoxConfig, spec: WorldSpec, *, db_path: Path, record: bool = True) -> Simulation:
    """Build the simulated box at the world's start time, with the agent not yet started."""
    clock = SimClock(epoch=spec.site.start)
    hardware = open_simulated_hardware(config, clock, modbus_line="loopback")
    assert hardware.parts is not None
    world = World(spec, hardware.parts)
    sim = Simulation(config, spec, clock, hardware, world, db_path)
    if record:
        sim.recorder = Recorder(config, world)
    return sim


def simulate(config: BoxConfig, spec: WorldSpec, days: float, db_path: Path | None = None) -> dict[str, Any]:
    """Run the agent through `days` of the world and return the report."""
    started = time.perf_counter()
    with ram_tempdir("hameau-sim-") as tmp:
        path = db_path or Path(tmp) / "simulation.db"
        sim = open_simulation(config, spec, db_path=path)
        end = spec.site.start + timedelta(days=days)
        try:
            sim.world.update(sim.now, 0.0)
            sim.start_agent()
            sim.run_until(end)
        finally:
            sim.close()
        assert sim.recorder is not None
        report = sim.recorder.report(path, spec.site.start, end)
    report["run_s"] = round(time.perf_counter() - started, 2)
    report["days"] = days
    return report
