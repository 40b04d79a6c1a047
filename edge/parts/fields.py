"""Config fields many parts share: the fields every sensor has, bus references, I2C addresses, pins, unit ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.config.buses import BusConfig
from edge.config.reader import Invalid, Table, check_id, in_range

I2C_ADDRESS_RANGE = (0x08, 0x77)
GPIO_PIN_RANGE = (0, 27)
MODBUS_UNIT_RANGE = (1, 247)
INTERVAL_RANGE_S = (0.1, 86_400)
DEFAULT_INTERVAL_S = 60.0


def bus_ref(t: Table, buses: Mapping[str, BusConfig], kind: str, driver: str) -> str:
    """The `bus` field: a bus declared under [buses], of the kind the part sits on."""
    bus_id = t.get("bus", str)
    if not t.has("bus") or not isinstance(t.raw.get("bus"), str):
        return bus_id
    bus = buses.get(bus_id)
    if bus is None:
        known = ", ".join(sorted(buses)) or "none declared"
        t.fail("bus", f"no bus {bus_id!r} under [buses] (declared: {known})")
    elif bus.kind != kind:
        t.fail("bus", f"driver {driver!r} needs a bus of type {kind!r}, but {bus_id!r} is not")
    return bus_id


def sensor_fields(t: Table, buses: Mapping[str, BusConfig], kind: str, driver: str) -> dict[str, Any]:
    """The fields every sensor has: id, bus, interval_s (and its driver key)."""
    return {
        "id": t.get("id", str, check=check_id),
        "bus": bus_ref(t, buses, kind, driver),
        "interval_s": t.get("interval_s", float, DEFAULT_INTERVAL_S, in_range(*INTERVAL_RANGE_S, " s")),
        "driver": driver,
    }


def actuator_fields(t: Table, buses: Mapping[str, BusConfig], kind: str, driver: str) -> dict[str, Any]:
    """The fields every actuator has: id and bus (and its driver key)."""
    return {"id": t.get("id", str, check=check_id), "bus": bus_ref(t, buses, kind, driver), "driver": driver}


def i2c_address(t: Table, part: str, allowed: tuple[int, ...]) -> int:
    """The `address` field of an I2C chip: one its address pins allow (the first by default)."""

    def check(address: int) -> None:
        in_range(*I2C_ADDRESS_RANGE, hexadecimal=True)(address)
        if address not in allowed:
            listed = ", ".join(f"0x{a:02X}" for a in allowed)
            raise Invalid(f"0x{address:02X} is not an address a {part} can have ({listed})")

    return t.get("address", int, allowed[0], check)


def gpio_pin(t: Table, name: str, required: bool = True) -> int | None:
    """A BCM GPIO number field."""
    check = in_range(*GPIO_PIN_RANGE)
    return t.get(name, int, check=check) if required else t.optional(name, int, check)


def unit_id(t: Table) -> int:
    """The `unit_id` of a Modbus slave."""
    return t.get("unit_id", int, 1, in_range(*MODBUS_UNIT_RANGE))
