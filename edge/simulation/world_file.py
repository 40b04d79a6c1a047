"""Load a simulated world file (TOML) for a box, naming the file, key and reason of every problem.

Date-times are local to the box's time zone ("2026-01-20T15:00", or a TOML local date-time).
Durations are strings of numbers with units d, h, m, s: "90m", "3h", "5d", "1h30m".
A spell (storm, cold snap, fault, power cut, burst, link outage) has a `start` and either an `end` or a
`duration`. [link] (edge/simulation/world_link.py): `enabled`, [[link.outages]], [[link.broker_restarts]] (`at`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from drivers.sim.world_spec import PowerCutSpec, SiteSpec
from edge.config.box import BoxConfig
from edge.config.model import DeviceConfig
from edge.config.reader import (
    ConfigError,
    Problems,
    Table,
    in_range,
    parse_duration,
    parse_toml,
    read_toml_file,
)
from edge.simulation.world_actions import read_on_site
from edge.simulation.world_faults import (
    read_energy_meter,
    read_faults,
    read_storage_fault,
)
from edge.simulation.world_heat import read_outdoor, read_zone
from edge.simulation.world_link import LinkedWorldSpec, read_link
from edge.simulation.world_reader import WorldReader
from edge.simulation.world_sky import read_light
from edge.simulation.world_water import read_water

__all__ = ["ConfigError", "load_world", "parse_duration", "parse_world"]


def load_world(path: str | Path, device: DeviceConfig, box: BoxConfig) -> LinkedWorldSpec:
    """Read a world file for a box; raise ConfigError naming the file, key and reason."""
    path = Path(path)
    raw, problems = read_toml_file(path, "world file")
    return _build(raw, problems, device, box)


def parse_world(text: str, path: Path, device: DeviceConfig, box: BoxConfig) -> LinkedWorldSpec:
    """Validate world TOML text that came from `path`, against the box it simulates."""
    problems = Problems(str(path))
    return _build(parse_toml(text, problems), problems, device, box)


def _build(raw: dict[str, Any], problems: Problems, device: DeviceConfig, box: BoxConfig) -> LinkedWorldSpec:
    r = WorldReader(device, box)
    top = Table(raw, "", problems)
    site = read_site(r, top.table("site", required=True))
    light = read_light(r, top.table("light") or Table({}, "light", problems))
    outdoor = read_outdoor(r, top.table("outdoor") or Table({}, "outdoor", problems))
    zones = tuple(z for _, t in top.tables("zones") if (z := read_zone(r, t)) is not None)
    water = read_water(r, top.table("water") or Table({}, "water", problems))
    faults = read_faults(r, top)
    cuts = []
    for _, t in top.tables("power_cuts"):
        span = r.spell(t)
        t.done()
        if span is not None and span[1] is not None:
            cuts.append(PowerCutSpec(span[0], span[1]))
    energy = tuple(e for _, t in top.tables("energy_meters") if (e := read_energy_meter(r, t)) is not None)
    storage = tuple(f for _, t in top.tables("storage_faults") if (f := read_storage_fault(r, t)) is not None)
    on_site = read_on_site(r, top, box, water)
    link = read_link(r, top.table("link"), site)
    top.done()
    problems.raise_if_any()
    assert site is not None
    return LinkedWorldSpec(site, light, outdoor, zones, water, faults, tuple(cuts), energy, storage, on_site, link)


def read_site(r: WorldReader, t: Table | None) -> SiteSpec | None:
    """[site]: start, end or duration, seed."""
    if t is None:
        return None
    span = r.spell(t)
    seed = t.get("seed", int, 0, in_range(0, 2**63 - 1))
    t.done()
    if span is None or span[1] is None:
        return None
    d = r.device
    return SiteSpec(d.latitude, d.longitude, d.timezone, span[0], span[1], seed)
