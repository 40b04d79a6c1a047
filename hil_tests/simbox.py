"""Test harness: the real agent on a simulated box in a world written for one test, minute by minute."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from drivers.sim import ram_tempdir
from edge.config.box import BoxConfig
from edge.config.loader import load_config
from edge.simulation.simulate import Simulation, open_simulation
from edge.simulation.world_file import load_world
from edge.storage.store import Store

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HALL = EXAMPLES / "village-hall.toml"
INLET = EXAMPLES / "village-inlet.toml"
PARIS = ZoneInfo("Europe/Paris")

#: The town hall of the example box, as the worlds of the lighting and heating tests describe it.
HALL_ZONE = """
[[zones]]
id = "hall"
thermometers = ["hall-temp", "hall-climate"]
heater = "hall-heating"
loss_w_per_k = 90.0
capacity_kj_per_k = 12600.0
initial_c = 17.0
relative_humidity_pct = 52.0

[[water.meters]]
sensor = "water-main"
profile = "building"
night_lph = 0.0
day_lph = 40.0
noise_pct = 30.0
"""


def local(text: str) -> datetime:
    """A wall time at the example boxes ("2026-01-15T22:00"), as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


@dataclass
class Trace:
    """What a relay did, minute by minute: (time, energised) at the start of each step."""

    points: list[tuple[datetime, bool]] = field(default_factory=list)

    def at(self, when: datetime) -> bool:
        """The state during the step that contains `when`."""
        state = False
        for t, on in self.points:
            if t > when:
                break
            state = on
        return state

    def switches(self, since: datetime | None = None, until: datetime | None = None) -> list[tuple[datetime, bool]]:
        """The times the relay changed state (and to what) within [since, until)."""
        result = []
        for (_, before), (t, on) in zip(self.points, self.points[1:], strict=False):
            if on != before and (since is None or t >= since) and (until is None or t < until):
                result.append((t, on))
        return result


@dataclass
class BoxRun:
    """A simulation with relay traces, advanced by the test."""

    sim: Simulation
    config: BoxConfig
    traces: dict[str, Trace]

    def run_until(self, when: datetime) -> None:
        """Advance (with the world's power cuts) to `when`, tracing every relay each step."""
        while self.sim.now < when:
            step_end = min(self.sim.now + timedelta(minutes=1), when)
            self.sim.run_until(step_end)
            for relay_id, trace in self.traces.items():
                trace.points.append((self.sim.now, self.sim.hardware.parts.relay_energised(relay_id)))

    def technician_store(self) -> Store:
        """A second connection to the agent's database, as the technician's commands open it."""
        return Store(self.config.agent.db_path, monotonic=self.sim.clock.monotonic)

    def events(self, kind: str | None = None, source: str | None = None) -> list:
        """Events the agent recorded (committed or pending)."""
        assert self.sim.agent is not None
        return self.sim.agent.store.events(kind=kind, source=source)


@contextmanager
def box_run(
    tmp_path: Path,
    world: str,
    *,
    box: Path | str = HALL,
    edit: Callable[[str], str] = lambda text: text,
    data_dir: Path | None = None,
) -> Iterator[BoxRun]:
    """A box (an example file, edited, or config text), its world, and a started agent; closed at the end.

    The database goes in `data_dir`, by default a folder in RAM: every commit is fsynced, and simulated
    days of commits on a disk would take minutes (durability is proven apart, tests/ and hil_tests/ on disk).
    """
    with ExitStack() as stack:
        if data_dir is None:
            data_dir = Path(stack.enter_context(ram_tempdir("hameau-simbox-")))
        yield stack.enter_context(_box_run(tmp_path, world, box, edit, data_dir))


@contextmanager
def _box_run(tmp_path: Path, world: str, box: Path | str, edit: Callable[[str], str], data_dir: Path) -> Iterator[BoxRun]:
    config_path = tmp_path / "box.toml"
    text = edit(box.read_text(encoding="utf-8") if isinstance(box, Path) else box)
    config_path.write_text(
        re.sub(r'(?m)^db_path = ".*"', f'db_path = "{data_dir / "hameau.db"}"', text),
        encoding="utf-8",
    )
    config = load_config(config_path)
    world_path = tmp_path / "world.toml"
    world_path.write_text(world, encoding="utf-8")
    spec = load_world(world_path, config.device, config)
    sim = open_simulation(config, spec, db_path=config.agent.db_path, record=False)
    run = BoxRun(sim, config, {relay.id: Trace() for relay in config.actuators})
    try:
        sim.world.update(sim.now, 0.0)
        if not any(c.start <= sim.now < c.end for c in spec.power_cuts):
            sim.start_agent()
        for relay_id, trace in run.traces.items():
            trace.points.append((sim.now, sim.hardware.parts.relay_energised(relay_id)))
        yield run
    finally:
        sim.close()


def inlet_world(start: str, duration: str, extra: str, *, night_lph: float = 400.0, day_lph: float = 4500.0) -> str:
    """A world for the example village inlet box: its cabinet, its valve and the village's use at the inlet meter."""
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
night_lph = {night_lph}
night_variation_pct = 8.0
night_distribution = "lognormal"
day_lph = {day_lph}
noise_pct = 10.0
{extra}
"""
