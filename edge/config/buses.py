"""The box's buses: their config dataclasses, the `[buses]` table parser, and how a place on each bus is written."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from edge.config.reader import Invalid, Table, check_id, in_range, one_of

GPIO_FACTORIES: tuple[str, ...] = ("lgpio", "rpigpio", "pigpio", "native")
BAUD_RATES: tuple[int, ...] = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


@dataclass(frozen=True, slots=True)
class I2CBusConfig:
    """A Linux I2C adapter, /dev/i2c-<number>."""

    id: str
    number: int
    kind = "i2c"


@dataclass(frozen=True, slots=True)
class OneWireBusConfig:
    """The Linux 1-Wire sysfs tree."""

    id: str
    path: Path
    kind = "onewire"


@dataclass(frozen=True, slots=True)
class GpioBusConfig:
    """The Pi's GPIO header, through a gpiozero pin factory (None: gpiozero's default)."""

    id: str
    pin_factory: str | None = None
    kind = "gpio"


@dataclass(frozen=True, slots=True)
class ModbusBusConfig:
    """An RS-485 line speaking Modbus RTU."""

    id: str
    port: str
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8
    timeout_s: float = 0.5
    retries: int = 2
    kind = "modbus_rtu"


BusConfig: TypeAlias = I2CBusConfig | OneWireBusConfig | GpioBusConfig | ModbusBusConfig

#: Bus kinds as written in `[buses.<id>] type = ...`.
BUS_KINDS: tuple[str, ...] = ("i2c", "onewire", "gpio", "modbus_rtu")

#: What the hardware behind each kind of bus is called in a fault.
BUS_HARDWARE: dict[str, str] = {
    "i2c": "I2C adapter",
    "onewire": "1-Wire master",
    "gpio": "GPIO header",
    "modbus_rtu": "RS-485 serial port",
}


def format_address(kind: str, address: int | str) -> str:
    """A place on a bus as a technician writes it: '0x23', '28-0316a2794aff', 'GPIO17', 'unit 1'."""
    if kind == "i2c" and isinstance(address, int):
        return f"0x{address:02X}"
    if kind == "gpio":
        return f"GPIO{address}"
    if kind == "modbus_rtu":
        return f"unit {address}"
    return str(address)


def slot_name(kind: str, address: int | str) -> str:
    """A place on a bus as a config problem names it: 'address 0x23', 'rom id 28-...', 'unit id 1'."""
    if kind == "i2c":
        return f"address {format_address(kind, address)}"
    if kind == "onewire":
        return f"rom id {address}"
    if kind == "modbus_rtu":
        return f"unit id {address}"
    return format_address(kind, address)


def parse_buses(t: Table | None) -> dict[str, BusConfig]:
    """The `[buses]` table: one sub-table per bus id, with its `type`."""
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
        kind = sub.get("type", str, check=one_of(*BUS_KINDS))
        bus = _bus(kind, bus_id, sub)
        if bus is None:  # an unknown type: its other keys cannot be judged
            sub.skip_rest()
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
        return GpioBusConfig(bus_id, t.optional("pin_factory", str, one_of(*GPIO_FACTORIES)))
    if kind == "modbus_rtu":
        return ModbusBusConfig(
            bus_id,
            port=t.get("port", str),
            baudrate=t.get("baudrate", int, 9600, one_of(*BAUD_RATES)),
            parity=t.get("parity", str, "N", one_of("N", "E", "O")),
            stopbits=t.get("stopbits", int, 1, one_of(1, 2)),
            bytesize=t.get("bytesize", int, 8, one_of(7, 8)),
            timeout_s=t.get("timeout_s", float, 0.5, in_range(0.01, 10, " s")),
            retries=t.get("retries", int, 2, in_range(0, 10)),
        )
    return None
