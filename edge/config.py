"""Load and validate a box's TOML config into frozen dataclasses, listing every problem."""

from __future__ import annotations

import re
import tomllib
import zoneinfo
from collections.abc import Callable
from pathlib import Path

from drivers.reading import UNITS
from drivers.registers import RegisterSpec
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
    in_range,
    one_of,
    positive,
)

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
ROM_ID_PATTERN = re.compile(r"^(28|22|3b)-[0-9a-f]{12}$")
I2C_ADDRESS_RANGE = (0x08, 0x77)
GPIO_PIN_RANGE = (0, 27)
MODBUS_UNIT_RANGE = (1, 247)
I2C_ADDRESSES: dict[str, tuple[int, ...]] = {
    "bh1750": (0x23, 0x5C),
    "veml7700": (0x10,),
    "sht31": (0x44, 0x45),
}
BUS_TYPES: dict[str, type] = {
    "i2c": I2CBusConfig,
    "onewire": OneWireBusConfig,
    "gpio": GpioBusConfig,
    "modbus_rtu": ModbusBusConfig,
}

__all__ = ["ConfigError", "load_config", "parse_config", "DRIVERS"]


def load_config(path: str | Path) -> BoxConfig:
    """Read a TOML config file; raise ConfigError naming the file, key and reason."""
    path = Path(path)
    problems = Problems(str(path))
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        problems.add("(file)", "no such file")
    except IsADirectoryError:
        problems.add("(file)", "is a directory, not a config file")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add("(file)", f"cannot be read: {exc}")
    problems.raise_if_any()
    return parse_config(text, path)


def parse_config(text: str, path: Path) -> BoxConfig:
    """Validate TOML text that came from `path`."""
    problems = Problems(str(path))
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        problems.add("(syntax)", f"not valid TOML: {exc}")
        problems.raise_if_any()
    top = Table(raw, "", problems)
    device = _device(top.table("device", required=True))
    buses = _buses(top.table("buses", required=True))
    simulation = _simulation(top.table("simulation"))
    agent = _agent(top.table("agent"), path)
    sensors = [(i, s) for i, t in top.tables("sensors") if (s := _sensor(t, buses)) is not None]
    actuators = [(i, a) for i, t in top.tables("actuators") if (a := _relay(t, buses)) is not None]
    top.done()
    _cross_checks(problems, sensors, actuators)
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
    )


def _check_id(value: str) -> None:
    if not ID_PATTERN.match(value):
        raise Invalid(f"{value!r} must be 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit")


def _check_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {value!r} (use an IANA name such as 'Europe/Paris')") from None


def _device(t: Table | None) -> DeviceConfig | None:
    if t is None:
        return None
    device = DeviceConfig(
        id=t.get("id", str, check=_check_id),
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
            _check_id(bus_id)
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
        unplugged=tuple(t.get("unplugged", list, [], _check_id_list)),
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


def _check_id_list(value: list) -> None:
    for item in value:
        if not isinstance(item, str):
            raise Invalid(f"expected sensor ids (strings), got {item!r}")


def _bus_ref(t: Table, buses: dict[str, BusConfig], kind: type, driver: str) -> str:
    bus_id = t.get("bus", str)
    if not t.has("bus") or not isinstance(t.raw.get("bus"), str):
        return bus_id
    bus = buses.get(bus_id)
    if bus is None:
        known = ", ".join(sorted(buses)) or "none declared"
        t.fail("bus", f"no bus {bus_id!r} under [buses] (declared: {known})")
    elif not isinstance(bus, kind):
        wanted = next(name for name, cls in BUS_TYPES.items() if cls is kind)
        t.fail("bus", f"driver {driver!r} needs a bus of type {wanted!r}, but {bus_id!r} is not")
    return bus_id


def _i2c_address(t: Table, driver: str) -> int:
    allowed = I2C_ADDRESSES[driver]

    def check(address: int) -> None:
        in_range(*I2C_ADDRESS_RANGE, hexadecimal=True)(address)
        if address not in allowed:
            listed = ", ".join(f"0x{a:02X}" for a in allowed)
            raise Invalid(f"0x{address:02X} is not an address a {driver.upper()} can have ({listed})")

    return t.get("address", int, allowed[0], check)


def _gpio_pin(t: Table, name: str, required: bool = True) -> int | None:
    check = in_range(*GPIO_PIN_RANGE)
    return t.get(name, int, check=check) if required else t.optional(name, int, check)


def _unit_id(t: Table) -> int:
    return t.get("unit_id", int, 1, in_range(*MODBUS_UNIT_RANGE))


def _common(t: Table, buses: dict[str, BusConfig], kind: type, driver: str) -> dict:
    return {
        "id": t.get("id", str, check=_check_id),
        "bus": _bus_ref(t, buses, kind, driver),
        "interval_s": t.get("interval_s", float, 60.0, in_range(0.1, 86_400, " s")),
    }


def _bh1750(t: Table, c: dict) -> BH1750Config:
    return BH1750Config(
        **c,
        address=_i2c_address(t, "bh1750"),
        mode=t.get("mode", str, "one_time", one_of("one_time", "continuous")),
        auto_range=t.get("auto_range", bool, True),
        mtreg=t.get("mtreg", int, 69, in_range(31, 254)),
    )


def _veml7700(t: Table, c: dict) -> VEML7700Config:
    return VEML7700Config(
        **c,
        address=_i2c_address(t, "veml7700"),
        auto_range=t.get("auto_range", bool, True),
        gain=t.get("gain", float, 0.125, one_of(0.125, 0.25, 1.0, 2.0)),
        integration_time_ms=t.get("integration_time_ms", int, 100, one_of(25, 50, 100, 200, 400, 800)),
    )


def _sht31(t: Table, c: dict) -> SHT31Config:
    return SHT31Config(
        **c,
        address=_i2c_address(t, "sht31"),
        repeatability=t.get("repeatability", str, "high", one_of("high", "medium", "low")),
    )


def _check_rom_id(value: str) -> None:
    if not ROM_ID_PATTERN.match(value):
        raise Invalid(f"{value!r} is not a 1-Wire thermometer id like '28-0316a2794aff'")


def _ds18b20(t: Table, c: dict) -> DS18B20Config:
    return DS18B20Config(**c, rom_id=t.get("rom_id", str, check=_check_rom_id))


def _pulse_meter(t: Table, c: dict) -> PulseMeterConfig:
    lpp = t.optional("litres_per_pulse", float, positive)
    ppl = t.optional("pulses_per_litre", float, positive)
    if (lpp is None) == (ppl is None) and t.ok:
        t.fail("litres_per_pulse", "give exactly one of litres_per_pulse or pulses_per_litre")
    return PulseMeterConfig(
        **c,
        pin=_gpio_pin(t, "pin") or 0,
        litres_per_pulse=lpp,
        pulses_per_litre=ppl,
        debounce_s=t.get("debounce_s", float, 0.0005, in_range(0, 0.1, " s")),
        active_low=t.get("active_low", bool, True),
        pull_up=t.get("pull_up", bool, True),
    )


def _sdm120(t: Table, c: dict) -> SDM120Config:
    return SDM120Config(**c, unit_id=_unit_id(t))


def _sdm630(t: Table, c: dict) -> SDM630Config:
    return SDM630Config(**c, unit_id=_unit_id(t))


def _register(t: Table) -> RegisterSpec | None:
    name = t.get("name", str)
    quantity = t.get("quantity", str, check=one_of(*UNITS))
    fields = dict(
        address=t.get("address", int, check=in_range(0, 0xFFFF)),
        function=t.get("function", str, "holding", one_of("input", "holding")),
        data_type=t.get("data_type", str, "uint16", one_of("uint16", "int16", "uint32", "int32", "float32")),
        word_order=t.get("word_order", str, "big", one_of("big", "little")),
        scale=t.get("scale", float, 1.0),
        min_value=t.optional("min_value", float),
        max_value=t.optional("max_value", float),
    )
    t.done()
    if not t.ok:
        return None
    try:
        return RegisterSpec(name=name, quantity=quantity, **fields)
    except ValueError as exc:
        t.fail("name", str(exc))
        return None


def _modbus_meter(t: Table, c: dict) -> ModbusMeterConfig:
    registers = tuple(r for r in (_register(rt) for _, rt in t.tables("registers")) if r is not None)
    if t.ok and not registers and "registers" not in t.raw:
        t.fail("registers", "a modbus_meter needs at least one [[sensors.registers]] entry")
    names = [r.name for r in registers]
    for name in sorted({n for n in names if names.count(n) > 1}):
        t.fail("registers", f"register name {name!r} is used twice")
    return ModbusMeterConfig(
        **c, unit_id=_unit_id(t), registers=registers, part=t.get("part", str, "modbus-meter")
    )


DRIVERS: dict[str, tuple[type, Callable[[Table, dict], SensorConfig]]] = {
    "bh1750": (I2CBusConfig, _bh1750),
    "veml7700": (I2CBusConfig, _veml7700),
    "sht31": (I2CBusConfig, _sht31),
    "ds18b20": (OneWireBusConfig, _ds18b20),
    "pulse_meter": (GpioBusConfig, _pulse_meter),
    "sdm120": (ModbusBusConfig, _sdm120),
    "sdm630": (ModbusBusConfig, _sdm630),
    "modbus_meter": (ModbusBusConfig, _modbus_meter),
}


def _sensor(t: Table, buses: dict[str, BusConfig]) -> SensorConfig | None:
    driver = t.get("driver", str)
    if driver not in DRIVERS:
        if t.has("driver") and isinstance(t.raw["driver"], str):
            t.fail("driver", f"unknown driver {driver!r}; known drivers: {', '.join(sorted(DRIVERS))}")
        t.skip_rest()
        return None
    kind, build = DRIVERS[driver]
    sensor = build(t, _common(t, buses, kind, driver))
    t.done()
    return sensor if t.ok else None


def _relay(t: Table, buses: dict[str, BusConfig]) -> RelayConfig | None:
    driver = t.get("driver", str, "relay", one_of("relay"))
    relay = RelayConfig(
        id=t.get("id", str, check=_check_id),
        bus=_bus_ref(t, buses, GpioBusConfig, driver),
        pin=_gpio_pin(t, "pin") or 0,
        active_high=t.get("active_high", bool, True),
        safe_state=t.get("safe_state", str, "off", one_of("on", "off")) == "on",
        feedback_pin=_gpio_pin(t, "feedback_pin", required=False),
        feedback_active_high=t.get("feedback_active_high", bool, True),
        settle_s=t.get("settle_s", float, 0.2, in_range(0, 10, " s")),
        load_w=t.get("load_w", float, 0.0, in_range(0, 100_000, " W")),
    )
    t.done()
    return relay if t.ok else None


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
