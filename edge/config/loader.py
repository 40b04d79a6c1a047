"""Load and validate a box's TOML config into frozen dataclasses, listing every problem."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any

from edge.config.box import BoxConfig
from edge.config.buses import BusConfig, parse_buses
from edge.config.checks import check_claims, check_ids, check_relay_owners
from edge.config.link import parse_link
from edge.config.model import AgentConfig, DeviceConfig, SensorConfig, SimulationConfig
from edge.config.reader import (
    ConfigError,
    Invalid,
    Problems,
    Table,
    check_id,
    in_range,
    parse_clock,
    parse_toml,
    read_toml_file,
)
from edge.controllers.fields import ConfigContext
from edge.controllers.kinds import KINDS
from edge.parts.fields import actuator_fields, sensor_fields
from edge.parts.part import Registry
from edge.parts.registry import REGISTRY
from edge.parts.relay.config import RelayConfig

__all__ = ["ConfigError", "build_config", "load_config", "parse_config"]


def load_config(path: str | Path, *, parts: Registry = REGISTRY) -> BoxConfig:
    """Read a TOML config file; raise ConfigError naming the file, key and reason."""
    path = Path(path)
    raw, problems = read_toml_file(path, "config file")
    return _build(raw, path, problems, parts)


def parse_config(text: str, path: Path, *, parts: Registry = REGISTRY) -> BoxConfig:
    """Validate TOML text that came from `path`."""
    problems = Problems(str(path))
    return _build(parse_toml(text, problems), path, problems, parts)


def build_config(raw: dict[str, Any], path: Path, *, parts: Registry = REGISTRY) -> BoxConfig:
    """Validate tables already read (a fleet config merged with the local file), naming `path` in errors."""
    return _build(raw, path, Problems(str(path)), parts)


def _build(raw: dict[str, Any], path: Path, problems: Problems, parts: Registry) -> BoxConfig:
    top = Table(raw, "", problems)
    device = _device(top.table("device", required=True))
    buses_table = top.table("buses", required=True)
    buses = parse_buses(buses_table)
    broken = {name for name in (buses_table.raw if buses_table else {}) if name not in buses}  # reported there
    simulation = _simulation(top.table("simulation"))
    agent = _agent(top.table("agent"), path)
    link = parse_link(top.table("link"), path, device.id if device is not None else None)
    if link is not None and link.outbox_budget_mb > agent.db_budget_mb:
        problems.add("link.outbox_budget_mb", f"must be at most agent.db_budget_mb ({agent.db_budget_mb:g} MB): the outbox lives in the database")
    unusable: set[str] = set()  # parts refused for their own mistakes: naming them is no second mistake
    sensors = [(i, s) for i, t in top.tables("sensors") if (s := _part(t, buses, parts, "sensor", unusable, broken)) is not None]
    actuators = [
        (i, a) for i, t in top.tables("actuators") if (a := _part(t, buses, parts, "actuator", unusable, broken)) is not None
    ]
    controllers = _controllers(top, device, sensors, actuators, parts, frozenset(unusable))
    top.done()
    check_ids(problems, sensors, actuators)
    check_claims(problems, parts, buses, sensors, actuators)
    check_relay_owners(problems, controllers)
    known = {s.id for _, s in sensors} | unusable
    for name in simulation.unplugged:
        if name not in known:
            problems.add("simulation.unplugged", f"no sensor {name!r} to unplug")
    problems.raise_if_any()
    assert device is not None
    return BoxConfig(
        path,
        device,
        tuple(buses.values()),
        tuple(s for _, s in sensors),
        tuple(a for _, a in actuators),
        simulation,
        agent,
        **{section: tuple(c for _, c in items) for section, items in controllers.items()},
        parts=parts,
        link=link,
    )


def _part(
    t: Table, buses: dict[str, BusConfig], parts: Registry, role: str, unusable: set[str], broken_buses: set[str]
) -> Any:
    """One [[sensors]] or [[actuators]] table through its part's parser; None when it has problems.

    The id of a refused part goes into `unusable`, so that sections naming it are not told it is undeclared.
    """
    before = len(t.problems.items)
    config = _parse_part(t, buses, parts, role)
    if t.raw.get("bus") in broken_buses:  # the bus's own mistake is reported at [buses]: not again here
        bus_key = t.key("bus")
        t.problems.items[before:] = [p for p in t.problems.items[before:] if p.key != bus_key]
    if config is None and isinstance(t.raw.get("id"), str):
        unusable.add(t.raw["id"])
    return config


def _parse_part(t: Table, buses: dict[str, BusConfig], parts: Registry, role: str) -> Any:
    known = parts.drivers(role)
    if role == "actuator":
        driver = t.get("driver", str, known[0] if len(known) == 1 else None)
    else:
        driver = t.get("driver", str)
    if driver not in known:
        if isinstance(t.raw.get("driver"), str):
            t.fail("driver", f"unknown driver {driver!r}; known drivers: {', '.join(known)}")
        t.skip_rest()
        return None
    part = parts[driver]
    fields = (sensor_fields if role == "sensor" else actuator_fields)(t, buses, part.bus, driver)
    config = part.parse(t, fields)
    t.done()
    return config if t.ok else None


def _controllers(
    top: Table,
    device: DeviceConfig | None,
    sensors: list[tuple[int, SensorConfig]],
    actuators: list[tuple[int, RelayConfig]],
    parts: Registry,
    unusable: frozenset[str],
) -> dict[str, list[tuple[int, Any]]]:
    result: dict[str, list[tuple[int, Any]]] = {kind.section: [] for kind in KINDS}
    if device is None:
        top.skip_rest()
        return result
    ctx = ConfigContext(device, {s.id: s for _, s in sensors}, {a.id: a for _, a in actuators}, parts, unusable)
    for kind in KINDS:
        for index, t in top.tables(kind.section):
            parsed = kind.parse(t, ctx)
            if parsed is not None:
                result[kind.section].append((index, parsed))
    return result


def _check_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Paris')") from None


def _device(t: Table | None) -> DeviceConfig | None:
    if t is None:
        return None
    device = DeviceConfig(
        id=t.get("id", str, check=check_id),
        name=t.get("name", str, ""),
        latitude=t.get("latitude", float, check=in_range(-90, 90, "°")),
        longitude=t.get("longitude", float, check=in_range(-180, 180, "°")),
        timezone=t.get("timezone", str, check=_check_timezone),
        elevation_m=t.get("elevation_m", float, 0.0, in_range(-500, 9000, " m")),
    )
    t.done()
    return device


def _simulation(t: Table | None) -> SimulationConfig:
    if t is None:
        return SimulationConfig()
    sim = SimulationConfig(
        enabled=t.get("enabled", bool, False),
        illuminance_lx=t.get("illuminance_lx", float, 400.0, in_range(0, 150_000, " lx")),
        temperature_c=t.get("temperature_c", float, 19.0, in_range(-55, 125, " °C")),
        relative_humidity_pct=t.get("relative_humidity_pct", float, 55.0, in_range(0, 100, " %")),
        flow_lph=t.get("flow_lph", float, 60.0, in_range(0, 1_000_000, " L/h")),
        voltage_v=t.get("voltage_v", float, 230.0, in_range(0, 500, " V")),
        current_a=t.get("current_a", float, 1.5, in_range(0, 100, " A")),
        unplugged=tuple(t.get("unplugged", list, [], _check_id_list)),
    )
    t.done()
    return sim


def _agent(t: Table | None, config_path: Path) -> AgentConfig:
    if t is None:
        return AgentConfig()
    db_path = Path(t.get("db_path", str, str(AgentConfig.db_path), _check_db_path)).expanduser()
    agent = AgentConfig(
        # A relative database path is relative to the config file, so a box directory is self-contained;
        # "~" is the home of the user running the command (the examples keep theirs per user).
        db_path=db_path if db_path.is_absolute() else config_path.parent / db_path,
        commit_interval_s=t.get("commit_interval_s", float, 30.0, in_range(1, 3600, " s")),
        tick_s=t.get("tick_s", float, 10.0, in_range(0.5, 600, " s")),
        stale_after_intervals=t.get("stale_after_intervals", float, 3.0, in_range(1.5, 100)),
        stuck_after_s=t.get("stuck_after_s", float, 6 * 3600.0, in_range(60, 30 * 86_400, " s")),
        upkeep_at=t.get("upkeep_at", str, "03:30", _check_clock),
        keep_readings_days=t.get("keep_readings_days", float, 30.0, in_range(1, 3650, " days")),
        keep_hourly_days=t.get("keep_hourly_days", float, 365.0, in_range(1, 36500, " days")),
        db_budget_mb=t.get("db_budget_mb", float, 1024.0, in_range(1, 1_000_000, " MB")),
        buffer_max_readings=t.get("buffer_max_readings", int, 50_000, in_range(1, 10_000_000)),
        buffer_max_events=t.get("buffer_max_events", int, 5_000, in_range(1, 1_000_000)),
        store_retry_min_s=t.get("store_retry_min_s", float, 10.0, in_range(0.1, 3600, " s")),
        store_retry_max_s=t.get("store_retry_max_s", float, 300.0, in_range(0.1, 86_400, " s")),
        safety_copy_interval_s=t.get("safety_copy_interval_s", float, 3600.0, in_range(1, 30 * 86_400, " s")),
    )
    if agent.store_retry_max_s < agent.store_retry_min_s:
        t.fail("store_retry_max_s", f"must be at least store_retry_min_s ({agent.store_retry_min_s:g} s)")
    if agent.keep_hourly_days < agent.keep_readings_days:
        t.fail("keep_hourly_days", f"must be at least keep_readings_days ({agent.keep_readings_days:g} days)")
    t.done()
    return agent


def _check_db_path(value: str) -> None:
    if not value.strip():
        raise Invalid("is empty: give the database file's path, e.g. /var/lib/hameau/hameau.db")
    if value.endswith(("/", "\\")) or Path(value).is_dir():
        raise Invalid(f"{value!r} is a directory: give the database file's path in it, e.g. {value.rstrip('/')}/hameau.db")


def _check_clock(value: str) -> None:
    parse_clock(value)


def _check_id_list(value: list[Any]) -> None:
    for item in value:
        if not isinstance(item, str):
            raise Invalid(f"expected sensor ids (strings), got {item!r}")
