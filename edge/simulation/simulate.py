"""`hameau-edge simulate`: the real agent against a simulated world, in simulated time."""

from __future__ import annotations

import bisect
import math
import os
import random
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from drivers.sim import ram_tempdir
from drivers.sim.clock import SimClock
from drivers.sim.world import World
from drivers.sim.world_spec import StorageFaultSpec, WorldSpec
from edge.config.box import BoxConfig
from edge.hardware.assembly import Hardware
from edge.runtime.agent import Agent
from edge.runtime.calendar import Calendar, SimCalendar
from edge.simulation.hardware import open_simulated_hardware
from edge.simulation.link_loopback import (
    LoopbackBroker,
    SimulatedLink,
    loopback_link_config,
)
from edge.simulation.on_site import OnSiteActions
from edge.simulation.report import Recorder
from edge.simulation.sync_report import sync_report
from edge.simulation.traces import Traces
from edge.simulation.world_link import link_of
from edge.storage.keeper import StoreKeeper

STEP_S = 60.0
#: After the run the link gets this long to send what waits for its lane's batch age (the agent stopped).
FLUSH_S = 180.0
#: SQLite's largest page cap, given back to a connection when a simulated full disk ends without a budget.
_NO_PAGE_CAP = 4294967294


class StorageFaults:
    """The world's storage faults, done to the agent's database by real means at their set times.

    A full disk caps the file where it stands (SQLite's `max_page_count`: a write that needs a new page
    fails with "database or disk is full"); a read-only card makes every connection `query_only` (writes
    fail with "attempt to write a readonly database"); a lock is another connection holding `BEGIN
    EXCLUSIVE`. Both pragmas reach every connection the agent opens during the spell, through the store's
    connection hook. Garbage replaces the file (a new file of random bytes, the same size, renamed over
    it), a truncation cuts it to half its size, a loss removes it with its -wal and -shm.
    """

    def __init__(self, faults: Sequence[StorageFaultSpec] = (), db_path: Path | None = None, seed: int = 0) -> None:
        self.faults = tuple(sorted(faults, key=lambda f: f.start))
        self.db_path = db_path
        self._random = random.Random(seed)
        self._active: set[str] = set()
        self._done: set[int] = set()
        self._connections: list[tuple[sqlite3.Connection, int]] = []  # each with its page cap before the spell
        self._locker: sqlite3.Connection | None = None

    def on_connect(self, conn: sqlite3.Connection) -> None:
        """Apply the spells in force to a connection the agent opens (and remember it for the next ones)."""
        self._connections.append((conn, int(conn.execute("PRAGMA max_page_count").fetchone()[0])))
        self._apply(conn, self._active)

    @staticmethod
    def _apply(conn: sqlite3.Connection, kinds: set[str]) -> None:
        if "disk_full" in kinds:
            conn.execute(f"PRAGMA max_page_count = {int(conn.execute('PRAGMA page_count').fetchone()[0])}")
        if "read_only" in kinds:
            conn.execute("PRAGMA query_only = 1")

    def update(self, now: datetime) -> None:
        """Start and end the spells, and do the instants, due by `now`."""
        for i, fault in enumerate(self.faults):
            if fault.end is None:
                if now >= fault.start and i not in self._done:
                    self._done.add(i)
                    self._instant(fault.kind)
                continue
            if fault.start <= now < fault.end and fault.kind not in self._active:
                self._begin(fault.kind)
            elif now >= fault.end and fault.kind in self._active and not any(
                f.kind == fault.kind and f.end is not None and f.start <= now < f.end for f in self.faults
            ):
                self._finish(fault.kind)
        if self._active & {"locked"} and self._locker is None:
            self._lock()

    def _live(self) -> list[tuple[sqlite3.Connection, int]]:
        live = []
        for conn, cap in self._connections:
            try:
                conn.execute("PRAGMA data_version")
            except sqlite3.ProgrammingError:  # closed since
                continue
            live.append((conn, cap))
        self._connections = live
        return live

    def _begin(self, kind: str) -> None:
        self._active.add(kind)
        for conn, _ in self._live():
            self._apply(conn, {kind})

    def _finish(self, kind: str) -> None:
        self._active.discard(kind)
        for conn, cap in self._live():
            if kind == "disk_full":
                conn.execute(f"PRAGMA max_page_count = {cap or _NO_PAGE_CAP}")
            elif kind == "read_only":
                conn.execute("PRAGMA query_only = 0")
        if kind == "locked":
            self._unlock()

    def _lock(self) -> None:
        if self.db_path is None or not self.db_path.exists():
            return
        locker = sqlite3.connect(self.db_path, isolation_level=None, timeout=0.0)
        try:
            locker.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError:
            locker.close()  # the agent is writing: take the lock at the next step
            return
        self._locker = locker

    def _unlock(self) -> None:
        if self._locker is not None:
            self._locker.execute("ROLLBACK")
            self._locker.close()
            self._locker = None

    def _instant(self, kind: str) -> None:
        path = self.db_path
        if path is None or not path.exists():
            return
        if kind == "corrupt":
            garbage = path.with_name(path.name + ".garbage")
            garbage.write_bytes(self._random.randbytes(max(4096, path.stat().st_size)))
            os.replace(garbage, path)
        elif kind == "truncated":
            os.truncate(path, path.stat().st_size // 2)
        elif kind == "lost":
            for suffix in ("", "-wal", "-shm"):
                path.with_name(path.name + suffix).unlink(missing_ok=True)

    def close(self) -> None:
        """Let go of the lock, if held."""
        self._unlock()


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
    #: What the world does to the database (a full disk, a lost file...), at its set times.
    storage: StorageFaults = field(default_factory=StorageFaults)
    #: What the world's technician does at set times, through the technician commands' code.
    on_site: OnSiteActions = field(default_factory=OnSiteActions)
    #: The box's real link against a loopback of the broker and the fleet (None: the world has no link).
    link: SimulatedLink | None = None

    @property
    def now(self) -> datetime:
        """Simulated wall time."""
        return self.clock.now()

    def start_agent(self) -> Agent:
        """Boot the box: a fresh agent on the same database, as after a power-up."""
        budget = None if self.config.link is None else round(self.config.link.outbox_budget_mb * 1e6)
        store = StoreKeeper(
            replace(self.config.agent, db_path=self.db_path), now=self.clock.now, monotonic=self.clock.monotonic,
            on_connect=self.storage.on_connect, outbox_budget_bytes=budget,
        )
        self.agent = Agent(self.config, self.hardware, store, self.clock, self.calendar())
        self.agent.start()
        if self.link is not None:
            self.link.start()
        return self.agent

    def power_cut(self) -> None:
        """The box loses power: the agent dies without a word, its relays fall."""
        if self.agent is not None:
            self.agent.abandon()
            self.agent = None
        if self.link is not None:
            self.link.stop(clean=False)

    def step(self, dt_s: float = STEP_S) -> None:
        """Let `dt_s` of world time pass, then let the agent (if powered) take its tick."""
        self._step(self.now, dt_s)

    def _step(self, now: datetime, dt_s: float) -> None:
        # The street sees the relays as they are until the agent's tick at the end of the step switches them.
        street = None if self.recorder is None else self.recorder.street(now, self._modes())
        self.storage.update(now)
        self.on_site.update(now)
        self.world.update(now, dt_s)
        assert self.hardware.parts is not None
        self.hardware.parts.advance(dt_s)
        if self.agent is not None:
            self.agent.step()
            if self.link is not None:
                self.link.step()
        if self.recorder is not None:
            self.recorder.observe(now, dt_s, street, None if self.recorder.traces is None else self._setpoints())

    def _modes(self) -> dict[str, str]:
        """Each running controller's mode ("astronomical", "frost"...); none while the box is off."""
        agent = self.agent
        if agent is None:
            return {}
        return {cid: str(getattr(state, "mode", "")) for cid, state in agent.states.items()}

    def _setpoints(self) -> dict[str, float | None]:
        """Each heating controller's setpoint (None before its first decision or while the box is off)."""
        agent = self.agent
        if agent is None:
            return {}
        return {h.id: getattr(agent.states.get(h.id), "setpoint_c", None) for h in self.config.heating}

    def run_until(self, end: datetime, dt_s: float = STEP_S) -> None:
        """Step until `end`, cutting and restoring power as the world says."""
        cuts = sorted(self.spec.power_cuts, key=lambda c: c.start)
        # A step also ends where the link is cut or restored and where the broker restarts: the link turns then.
        edges = sorted({c.start for c in cuts} | {c.end for c in cuts} | set(self.link.edges() if self.link else ()))
        while (now := self.now) < end:
            self.storage.update(now)
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
            if self.link is not None:
                self.link.flush(FLUSH_S, STEP_S)
        if self.link is not None:
            self.link.stop(clean=True)
        self.storage.close()
        self.hardware.close()

    def sync(self) -> dict[str, Any] | None:
        """The link's figures at the end of the run (edge/simulation/sync_report.py), None without a link."""
        if self.link is None:
            return None
        broker = self.link.broker
        return sync_report(self.db_path, broker.store, self.config.device.id, peak_bytes=self.link.peak_bytes,
                           extra={"broker_restarts": broker.counts.broker_restarts,
                                  "lost_in_flight": broker.counts.lost_in_flight, "connects": broker.counts.connects,
                                  "link_errors": self.link.service_errors,
                                  "outages": [[o.start.isoformat(), o.end.isoformat()] for o in broker.spec.outages]})


def open_simulation(config: BoxConfig, spec: WorldSpec, *, db_path: Path, record: bool = True,
                    link: bool = False) -> Simulation:
    """Build the simulated box at the world's start time, with the agent not yet started (and with `link`, its
    link to a loopback of the broker and the fleet, unless the world says `[link] enabled = false`)."""
    clock = SimClock(epoch=spec.site.start)
    hardware = open_simulated_hardware(config, clock, modbus_line="loopback")
    assert hardware.parts is not None
    world = World(spec, hardware.parts)
    sim = Simulation(config, spec, clock, hardware, world, db_path,
                     storage=StorageFaults(spec.storage_faults, db_path, spec.site.seed),
                     on_site=OnSiteActions(spec.on_site.actions, config, db_path, clock.monotonic))
    if record:
        sim.recorder = Recorder(config, world)
    if link and link_of(spec).enabled:
        broker = LoopbackBroker(link_of(spec), db_path.with_name(f"{db_path.stem}.fleet{db_path.suffix}"), clock)
        sim.link = SimulatedLink(loopback_link_config(config.device.id, config.link), device=config.device.id,
                                 clock=clock, db_path=db_path, broker=broker)
    return sim


def simulate(config: BoxConfig, spec: WorldSpec, days: float, db_path: Path | None = None,
             traces: Traces | None = None) -> dict[str, Any]:
    """Run the agent through `days` of the world and return the report (filling `traces`, if given, every step)."""
    started = time.perf_counter()
    with ram_tempdir("hameau-sim-") as tmp:
        path = db_path or Path(tmp) / "simulation.db"
        sim = open_simulation(config, spec, db_path=path, link=True)
        assert sim.recorder is not None
        sim.recorder.traces = traces
        end = spec.site.start + timedelta(days=days)
        try:
            sim.world.update(sim.now, 0.0)
            sim.start_agent()
            sim.run_until(end)
        finally:
            sim.close()
        assert sim.recorder is not None
        report = sim.recorder.report(path, spec.site.start, end)
        try:
            report["sync"] = sim.sync()
        finally:
            if sim.link is not None:
                sim.link.broker.close()
    report["run_s"] = round(time.perf_counter() - started, 2)
    report["days"] = days
    return report


def days_refusal(spec: WorldSpec, days: float) -> str | None:
    """Why `--days` cannot be simulated in this world (None: it can): it must be positive and within its span."""
    zone = ZoneInfo(spec.site.timezone)
    start, end = spec.site.start.astimezone(zone), spec.site.end.astimezone(zone)
    span_days = (end - start).total_seconds() / 86_400
    if math.isnan(days) or days <= 0:
        return f"--days {days:g}: give a positive number of days (this world spans {span_days:g} days)"
    if days > span_days:
        return (f"--days {days:g} is beyond the world's span: it runs from {start:%Y-%m-%d %H:%M} to "
                f"{end:%Y-%m-%d %H:%M} {end:%Z} ({span_days:g} days)")
    return None
