"""Composition root of a simulated box: simulated buses, each part's twin on them, then the same drivers."""

from __future__ import annotations

import functools
import importlib
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from drivers.modbus import ModbusRtuBus
from drivers.onewire import W1Bus
from drivers.sim import ram_tempdir
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory
from drivers.sim.i2c import SimI2CBus
from drivers.sim.modbus_loopback import LoopbackModbusClient
from drivers.sim.modbus_slave import SimModbusSlave
from drivers.sim.onewire import SimW1Tree
from drivers.sim.parts import SimulatedParts
from edge.config.box import BoxConfig
from edge.config.buses import (
    GpioBusConfig,
    I2CBusConfig,
    ModbusBusConfig,
    OneWireBusConfig,
)
from edge.hardware.assembly import Buses, Hardware, assemble
from edge.parts.part import Part
from edge.simulation.box import SimBox

MODBUS_LINES: tuple[str, ...] = ("pty", "loopback")


def open_simulated_hardware(
    config: BoxConfig, clock: SimClock | None = None, *, modbus_line: str = "pty"
) -> Hardware:
    """Build simulated buses and every part's twin, then the real drivers on those buses.

    `modbus_line`: "pty" serves the simulated meters on a real pseudo-terminal (pyserial and its
    timing, as on the box); "loopback" hands the same RTU frames over in-process, for long runs.
    """
    if modbus_line not in MODBUS_LINES:
        raise ValueError(f"modbus_line must be 'pty' or 'loopback', got {modbus_line!r}")
    stack = ExitStack()
    try:
        clock = clock or SimClock()
        box = SimBox(clock, config.simulation, SimulatedParts(clock))
        buses = _buses(config, box, stack, modbus_line)
        for cfg in (*config.sensors, *config.actuators):
            twin_of(config.parts.of(cfg)).attach(cfg, box)
        for sensor_id in config.simulation.unplugged:
            box.parts.unplug(sensor_id)
        return assemble(config, buses, box.parts.advance, box.clock.monotonic, stack=stack, parts=box.parts)
    except BaseException:
        stack.close()
        raise


def twin_of(part: Part[Any]) -> Any:
    """The module of a part's simulated twin (imported now: only a simulated box needs it)."""
    module = importlib.import_module(part.twin)
    if not callable(getattr(module, "attach", None)):
        raise TypeError(f"twin module {part.twin!r} of part {part.driver!r} has no attach(config, box)")
    return module


def _buses(config: BoxConfig, box: SimBox, stack: ExitStack, modbus_line: str) -> Buses:
    buses = Buses()
    for bus in config.buses:
        if isinstance(bus, I2CBusConfig):
            box.i2c[bus.id] = buses.objects[bus.id] = SimI2CBus(bus.number)
        elif isinstance(bus, OneWireBusConfig):
            root = Path(stack.enter_context(ram_tempdir("hameau-w1-")))
            box.onewire[bus.id] = SimW1Tree(root)
            buses.objects[bus.id] = W1Bus(root, name=bus.id)
        elif isinstance(bus, GpioBusConfig):
            box.gpio[bus.id] = buses.objects[bus.id] = SimPinFactory(box.clock.monotonic)
            stack.callback(box.gpio[bus.id].close)
        elif isinstance(bus, ModbusBusConfig):
            buses.objects[bus.id] = _modbus(bus, box, stack, modbus_line)
    return buses


def _modbus(bus: ModbusBusConfig, box: SimBox, stack: ExitStack, modbus_line: str) -> ModbusRtuBus:
    slave = box.modbus[bus.id] = SimModbusSlave()
    factory: dict[str, Any] = {}
    if modbus_line == "pty":
        port = slave.start()
        stack.callback(slave.stop)
    else:
        port = f"loopback:{bus.id}"
        factory = {"client_factory": functools.partial(LoopbackModbusClient, slave=slave)}
    line = ModbusRtuBus(
        port, baudrate=bus.baudrate, parity=bus.parity, stopbits=bus.stopbits,
        bytesize=bus.bytesize, timeout_s=bus.timeout_s, retries=bus.retries, name=bus.id, **factory,
    )
    stack.callback(line.close)
    return line
