"""Load and validate a box's TOML config into frozen dataclasses, listing every problem."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any

from edge.config_model import (
    AgentConfig,
    BH1750Config,
    BoxConfig,
    BusConfig,
    DeviceConfig,
    DS18B20Config,
    GpioBusConfig,
    I2CBusConfig,
    ModbusBusConfig,
    ModbusMeterConfig,
    OneWireBusConfig,
    PulseMeterConfig,
    RelayConfig,
    SDM120Config,
    SDM630Config,
    SensorConfig,
    SHT31Config,
    SimulationConfig,
    VEML7700Config,
)
from edge.config_reader import (
    ConfigError,
    Invalid,
    Problems,
    Table,
    check_id,
    in_range,
    one_of,
    parse_toml,
    read_toml_file,
)
from edge.config_sensors import BUS_TYPES, DRIVERS, parse_relay, parse_sensor
from edge.controllers.base import ConfigContext
from edge.controllers.heating_config import parse_heating
from edge.controllers.leak_config import parse_leak
from edge.controllers.lighting_config import parse_lighting

CONTROLLER_SECTIONS = {"lighting": parse_lighting, "leak": parse_leak, "heating": parse_heating}

__all__ = ["ConfigError", "load_config", "parse_config", "DRIVERS"]


def load_config(path: str | Path) -> BoxConfig:
    """Read a TOML config file; raise ConfigError naming the file, key and reason."""
    path = Path(path)
    raw, problems = read_toml_file(path, "config file")
    return _build(raw, path, problems)


def parse_config(text: str, path: Path) -> BoxConfig:
    """Validate TOML text that came from `path`."""
    problems = Problems(str(path))
    return _build(parse_toml(text, problems), path, problems)


def _build(raw: dict[str, Any], path: Path, problems: Problems) -> BoxConfig:
    top = Table(raw, "", problems)
    device = _device(top.table("device", required=True))
    buses = _buses(top.table("buses", required=True))
    simulation = _simulation(top.table("simulation"))
    agent = _agent(top.table("agent"), path)
    sensors = [(i, s) for i, t in top.tables("sensors") if (s := parse_sensor(t, buses)) is not None]
    actuators = [(i, a) for i, t in top.tables("actuators") if (a := parse_relay(t, buses)) is not None]
    controllers = _controllers(top, device, sensors, actuators)
    top.done()
    _cross_checks(problems, sensors, actuators)
    _relay_owners(problems, controllers)
    known = {s.id for _, s in sensors}
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
    )


def _controllers(
    top: Table,
    device: DeviceConfig | None,
    sensors: list[tuple[int, SensorConfig]],
    actuators: list[tuple[int, RelayConfig]],
) -> dict[str, list[tuple[int, Any]]]:
    result: dict[str, list[tuple[int, Any]]] = {section: [] for section in CONTROLLER_SECTIONS}
    if device is None:
        top.skip_rest()
        return result
    ctx = ConfigContext(device, {s.id: s for _, s in sensors}, {a.id: a for _, a in actuators})
    for section, parse in CONTROLLER_SECTIONS.items():
        for index, t in top.tables(section):
            parsed = parse(t, ctx)
            if parsed is not None:
                result[section].append((index, parsed))
    return result


def _relay_owners(problems: Problems, controllers: dict[str, list[tuple[int, Any]]]) -> None:
    owners: dict[str, str] = {}
    for section, items in controllers.items():
        for index, cfg in items:
            for field_name in ("relay", "valve_relay"):
                relay = getattr(cfg, field_name, None)
                if relay is None:
                    continue
                key = f"{section}[{index}].{field_name}"
                if relay in owners:
                    problems.add(key, f"relay {relay!r} is already driven by {owners[relay]}")
                else:
                    owners[relay] = f"{section} {cfg.id!r} ({key})"


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


def _buses(t: Table | None) -> dict[str, BusConfig]:
    buses: dict[str, BusConfig] = {}
    if t is None:
        return buses
    for bus_id in list(t.raw):
        sub = t.table(bus_id)
        if sub is None:
            continue
        try:
            check_id(bus_id)
        except Invalid as exc:
            t.fail(bus_id, str(exc))
        kind = sub.get("type", str, check=one_of(*BUS_TYPES))
        bus = _bus(kind, bus_id, sub)
        sub.done()
        if bus is not None and sub.ok:
            buses[bus_id] = bus
    return buses


def _bus(kind: str, bus_id: str, t: Table) -> BusConfig | None:
    if kind == "i2c":
        return I2CBusConfig(bus_id, t.get("number", int, check=in_range(0, 255)))
    if kind == "onewire":
        return OneWireBusConfig(bus_id, Path(t.get("path", str, "/sys/bus/w1/devices")))
    if kind == "gpio":
        factories = ("lgpio", "rpigpio", "pigpio", "native")
        return GpioBusConfig(bus_id, t.optional("pin_factory", str, one_of(*factories)))
    if kind == "modbus_rtu":
        return ModbusBusConfig(
            bus_id,
            port=t.get("port", str),
            baudrate=t.get("baudrate", int, 9600, one_of(1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)),
            parity=t.get("parity", str, "N", one_of("N", "E", "O")),
            stopbits=t.get("stopbits", int, 1, one_of(1, 2)),
            bytesize=t.get("bytesize", int, 8, one_of(7, 8)),
            timeout_s=t.get("timeout_s", float, 0.5, in_range(0.01, 10, " s")),
            retries=t.get("retries", int, 2, in_range(0, 10)),
        )
    return None


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
        unplugged=tuple(t.get("unplugged", list, [], check_id_list)),
    )
    t.done()
    return sim


def _agent(t: Table | None, config_path: Path) -> AgentConfig:
    if t is None:
        return AgentConfig()
    db_path = Path(t.get("db_path", str, str(AgentConfig.db_path)))
    agent = AgentConfig(
        # A relative database path is relative to the config file, so a box directory is self-contained.
        db_path=db_path if db_path.is_absolute() else config_path.parent / db_path,
        commit_interval_s=t.get("commit_interval_s", float, 30.0, in_range(1, 3600, " s")),
        tick_s=t.get("tick_s", float, 10.0, in_range(0.5, 600, " s")),
        stale_after_intervals=t.get("stale_after_intervals", float, 3.0, in_range(1.5, 100)),
        stuck_after_s=t.get("stuck_after_s", float, 6 * 3600.0, in_range(60, 30 * 86_400, " s")),
    )
    t.done()
    return agent


def check_id_list(value: list) -> None:
    for item in value:
        if not isinstance(item, str):
            raise Invalid(f"expected sensor ids (strings), got {item!r}")


def _cross_checks(
    problems: Problems,
    sensors: list[tuple[int, SensorConfig]],
    actuators: list[tuple[int, RelayConfig]],
) -> None:
    ids: dict[str, str] = {}
    for group, items in (("sensors", sensors), ("actuators", actuators)):
        for index, item in items:
            key = f"{group}[{index}].id"
            if item.id in ids:
                problems.add(key, f"duplicate id {item.id!r} (also at {ids[item.id]})")
            else:
                ids[item.id] = key
    claims: list[tuple[str, str, str, int | None]] = []
    for index, s in sensors:
        if isinstance(s, PulseMeterConfig):
            claims.append((f"sensors[{index}].pin", s.id, s.bus, s.pin))
    for index, a in actuators:
        claims.append((f"actuators[{index}].pin", a.id, a.bus, a.pin))
        claims.append((f"actuators[{index}].feedback_pin", a.id, a.bus, a.feedback_pin))
    pins: dict[tuple[str, int], str] = {}
    for key, owner, bus, pin in claims:
        if pin is None:
            continue
        if (bus, pin) in pins:
            problems.add(key, f"GPIO{pin} is already used by {pins[(bus, pin)]}")
        else:
            pins[(bus, pin)] = f"{owner!r} ({key})"
    slots: dict[tuple[str, str], str] = {}
    for index, s in sensors:
        slot = _bus_slot(s)
        if slot is None:
            continue
        if (s.bus, slot) in slots:
            problems.add(f"sensors[{index}]", f"{s.id!r} and {slots[(s.bus, slot)]!r} share bus {s.bus!r} at {slot}")
        else:
            slots[(s.bus, slot)] = s.id


def _bus_slot(s: SensorConfig) -> str | None:
    if isinstance(s, (BH1750Config, VEML7700Config, SHT31Config)):
        return f"address 0x{s.address:02X}"
    if isinstance(s, DS18B20Config):
        return f"rom id {s.rom_id}"
    if isinstance(s, (SDM120Config, SDM630Config, ModbusMeterConfig)):
        return f"unit id {s.unit_id}"
    return None
