"""Parse the [[sensors]] and [[actuators]] sections of a box config."""

from __future__ import annotations

import re
from collections.abc import Callable

from drivers.reading import UNITS
from drivers.registers import RegisterSpec
from edge.config_model import (
    BH1750Config,
    BusConfig,
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
    VEML7700Config,
)
from edge.config_reader import Invalid, Table, check_id, in_range, one_of, positive

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
        "id": t.get("id", str, check=check_id),
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


def parse_sensor(t: Table, buses: dict[str, BusConfig]) -> SensorConfig | None:
    """One [[sensors]] table, or None when it has problems (recorded in t)."""
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


def parse_relay(t: Table, buses: dict[str, BusConfig]) -> RelayConfig | None:
    """One [[actuators]] table, or None when it has problems (recorded in t)."""
    driver = t.get("driver", str, "relay", one_of("relay"))
    relay = RelayConfig(
        id=t.get("id", str, check=check_id),
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
