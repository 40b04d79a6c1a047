"""Shared by the sync proofs: the example hall's world, the box's real Link to the test broker, and both stores read
back (the box's outbox and readings, the fleet's records) to compare them.

The example box has no [link] table; the tests give its Link the device's own credentials on the `broker` fixture
and a serve process (hil_tests/fleet_serve_process.py) stores into a fleet SQLite file.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from broker import Broker

from drivers.sim import ram_tempdir
from drivers.sim.clock import SimClock
from edge.config.link import LinkConfig
from edge.config.loader import load_config
from edge.link.service import Link, default_outbox_factory
from edge.runtime.agent import Agent
from edge.runtime.clock import Clock
from edge.simulation.simulate import Simulation, open_simulation
from edge.simulation.world_file import load_world
from edge.storage.keeper import StoreKeeper
from fleet.store.sql import SqliteStore

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALL = EXAMPLES / "village-hall.toml"
HALL_WORLD = EXAMPLES / "village-hall-world.toml"
#: The example box's device id (examples/village-hall.toml [device] id).
DEVICE = "saint-aubin-mairie"
LANES = ("event", "total", "raw")
LANE_IDS = {name: lane for lane, name in enumerate(LANES)}


def hall_world(start: str, duration: str = "10d") -> str:
    """The example hall's world file, starting at `start` (local time) for `duration`."""
    text = HALL_WORLD.read_text(encoding="utf-8")
    for key, value in (("start", start), ("duration", duration)):
        text, n = re.subn(rf'(?m)^{key} = "[^"]*"', f'{key} = "{value}"', text, count=1)
        assert n == 1, f"the example world has no [site] {key} any more"
    return text


@dataclass
class LinkedSimulation(Simulation):
    """A Simulation whose agent gets the outbox budget of a [link] and, when given, a clock of its own (the world
    keeps the simulation's clock as the true time)."""

    outbox_budget_bytes: int | None = None
    agent_clock: Clock | None = None

    def start_agent(self) -> Agent:
        """Boot the box: a fresh agent on the same database, its store keeping the outbox budget."""
        clock = self.agent_clock if self.agent_clock is not None else self.clock
        store = StoreKeeper(replace(self.config.agent, db_path=self.db_path), now=clock.now,
                            monotonic=clock.monotonic, on_connect=self.storage.on_connect,
                            outbox_budget_bytes=self.outbox_budget_bytes)
        self.agent = Agent(self.config, self.hardware, store, clock, self.calendar())
        self.agent.start()
        return self.agent

    def stop_agent(self) -> None:
        """Shut the agent down cleanly (its last records committed); the box's time can go on without it."""
        if self.agent is not None:
            self.agent.stop()
            self.agent = None


@contextmanager
def hall_box(tmp_path: Path, world: str, *, outbox_budget_bytes: int | None = None,
             agent_clock: Callable[[SimClock], Clock] | None = None) -> Iterator[LinkedSimulation]:
    """The example hall box in `world`, its agent started, its database in RAM; closed at the end."""
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(ram_tempdir("hameau-sync-")))
        config_path = tmp_path / "box.toml"
        config_path.write_text(re.sub(r'(?m)^db_path = ".*"', f'db_path = "{data_dir / "hameau.db"}"',
                                      HALL.read_text(encoding="utf-8")), encoding="utf-8")
        config = load_config(config_path)
        world_path = tmp_path / "world.toml"
        world_path.write_text(world, encoding="utf-8")
        spec = load_world(world_path, config.device, config)
        plain = open_simulation(config, spec, db_path=config.agent.db_path, record=False)
        sim = LinkedSimulation(**{f.name: getattr(plain, f.name) for f in fields(Simulation)},
                               outbox_budget_bytes=outbox_budget_bytes,
                               agent_clock=None if agent_clock is None else agent_clock(plain.clock))
        stack.callback(sim.close)
        sim.world.update(sim.now, 0.0)
        sim.start_agent()
        yield sim


def link_config(broker: Broker, directory: Path, device: str = DEVICE, **overrides: Any) -> LinkConfig:
    """The box's [link] as the test broker wants it: TLS to its CA, the device's own user and password file."""
    password = directory / f"{device}.password"
    password.write_text(broker.add_device(device) + "\n", encoding="utf-8")
    password.chmod(0o600)
    values = {"reconnect_min_s": 0.1, "reconnect_max_s": 0.5} | overrides
    return LinkConfig(broker_url=broker.url, host=broker.host, port=broker.port, ca_file=broker.ca_path,
                      password_file=password, username=device, **values)


@contextmanager
def running_link(config: LinkConfig, clock: Clock, db_path: Path, device: str = DEVICE,
                 tick_s: float = 0.02) -> Iterator[Link]:
    """The box's real Link on its database (its own Outbox connection), started; stopped at the end."""
    link = Link(config, device=device, clock=clock, version="0.1.0",
                outbox_factory=default_outbox_factory(config, db_path=db_path, device=device, clock=clock),
                tick_s=tick_s)
    link.start()
    try:
        yield link
    finally:
        link.stop()


def read(db_path: Path, sql: str, *args: object) -> list[tuple]:
    """Rows of a query on a database, on a connection of its own (read only)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def box_lanes(db_path: Path) -> dict[str, dict[str, int]]:
    """The box's outbox per lane: rows left, last seq given, acked seq, records thinned."""
    rows = dict(read(db_path, "SELECT lane, count(*) FROM outbox GROUP BY lane"))
    return {LANES[lane]: {"rows": int(rows.get(lane, 0)), "last": int(last), "acked": int(acked),
                          "thinned": int(thinned)}
            for lane, last, acked, thinned in read(db_path, "SELECT lane, last_seq, acked_seq, thinned FROM outbox_lanes")}


def wait_drained(db_path: Path, link: Link, timeout_s: float) -> float:
    """Wait until the outbox is empty and every lane acked up to its last seq; the real seconds it took."""
    start = time.monotonic()
    while True:
        lanes = box_lanes(db_path)
        if all(lane["rows"] == 0 and lane["acked"] == lane["last"] for lane in lanes.values()):
            return time.monotonic() - start
        assert time.monotonic() - start < timeout_s, f"not drained in {timeout_s} s: {lanes}; link {link.stats()}"
        time.sleep(0.05)


@contextmanager
def fleet_store(path: Path) -> Iterator[SqliteStore]:
    """The fleet's store file, opened once serve has stopped."""
    store = SqliteStore(path)
    try:
        yield store
    finally:
        store.close()


def fleet_counts(path: Path, device: str = DEVICE) -> dict[str, tuple[int, int]]:
    """(COUNT(*), COUNT(DISTINCT seq)) of the fleet's records per lane: a duplicate shows as a difference."""
    rows = read(path, "SELECT lane, count(*), count(DISTINCT seq) FROM records WHERE device = ? GROUP BY lane", device)
    return {lane: (int(n), int(distinct)) for lane, n, distinct in rows}


def box_readings(db_path: Path) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """The box's readings table: (sensor, name) -> sorted (ts, value)."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for ts, sensor, name, value in read(db_path, "SELECT ts, sensor, name, value FROM readings"):
        out.setdefault((sensor, name), []).append((float(ts), float(value)))
    return {key: sorted(values) for key, values in out.items()}


def fleet_readings(store: SqliteStore, device: str = DEVICE) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """The fleet's reading records (total and raw lanes): (sensor, name) -> sorted (wall_s, value)."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for lane in ("total", "raw"):
        for record in store.records(device, lane):
            if record.type == "reading":
                out.setdefault((record.body["sensor"], record.body["name"]), []).append(
                    (record.wall_s, float(record.body["value"])))
    return {key: sorted(values) for key, values in out.items()}


def box_events(db_path: Path) -> Counter[tuple[float, str, str, str]]:
    """The box's events table as a multiset of (ts, kind, source, reason)."""
    return Counter((float(ts), kind, source, reason)
                   for ts, kind, source, reason in read(db_path, "SELECT ts, kind, source, reason FROM events"))


def fleet_events(store: SqliteStore, device: str = DEVICE) -> Counter[tuple[float, str, str, str]]:
    """The fleet's event records (type "event") as a multiset of (wall_s, kind, source, reason)."""
    return Counter((r.wall_s, r.body["kind"], r.body["source"], r.body["reason"])
                   for r in store.records(device, "event") if r.type == "event")


def utc(text: str) -> datetime:
    """An aware UTC datetime from "2026-01-12T00:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class ClockFrom1970:
    """The box's clock after a boot with no real-time clock: the wall time is 1970-01-01 + the monotonic time and
    not synchronised until `sync_after_s` of monotonic time, then true (the world's) time and synchronised.

    It wraps the simulation's SimClock (monotonic time, sleep and boot id are its own), which the world goes on
    using as the true time.
    """

    EPOCH_1970 = datetime(1970, 1, 1, tzinfo=UTC)

    def __init__(self, true_clock: SimClock, sync_after_s: float) -> None:
        self.true_clock = true_clock
        self.sync_after_s = sync_after_s

    def synced(self) -> bool:
        """Synchronised once `sync_after_s` of monotonic time has passed."""
        return self.true_clock.monotonic() >= self.sync_after_s

    def now(self) -> datetime:
        """1970 + monotonic before the sync, the true time after."""
        if self.synced():
            return self.true_clock.now()
        return self.EPOCH_1970 + timedelta(seconds=self.true_clock.monotonic())

    def monotonic(self) -> float:
        """The simulation's monotonic seconds."""
        return self.true_clock.monotonic()

    def sleep(self, duration_s: float) -> None:
        """Simulated sleep."""
        self.true_clock.sleep(duration_s)

    def boot_id(self) -> str:
        """The simulated boot's id."""
        return self.true_clock.boot_id()

    __call__ = monotonic


def until(condition: Callable[[], bool], timeout_s: float, what: Callable[[], object] = lambda: "") -> float:
    """Wait (real time) until `condition()`; the seconds it took; fails the test past `timeout_s`."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout_s, f"not within {timeout_s} s: {what()}"
        time.sleep(0.02)
    return time.monotonic() - start
