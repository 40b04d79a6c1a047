"""The box's real buses: /dev/i2c-N through smbus2, the kernel's 1-Wire tree, GPIO through gpiozero, RS-485."""

from __future__ import annotations

import importlib
import time
from contextlib import ExitStack
from typing import Any

from drivers.errors import NotPluggedError
from drivers.modbus import ModbusRtuBus
from drivers.onewire import W1Bus
from edge.config.box import BoxConfig
from edge.config.buses import BUS_HARDWARE, BusConfig, GpioBusConfig, I2CBusConfig, ModbusBusConfig, OneWireBusConfig
from edge.hardware.assembly import Buses, Hardware, assemble

#: gpiozero pin factories by the name a config gives (lgpio is the default on a Pi 5 and on Bookworm).
GPIO_FACTORIES: dict[str, tuple[str, str]] = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
    "pigpio": ("gpiozero.pins.pigpio", "PiGPIOFactory"),
    "native": ("gpiozero.pins.native", "NativeFactory"),
}


def open_hardware(config: BoxConfig) -> Hardware:
    """Open the box's real buses and build its drivers on them (a bus that cannot open is a fault)."""
    stack = ExitStack()
    try:
        buses = Buses()
        for bus in config.buses:
            try:
                buses.objects[bus.id] = _open(bus, stack)
            except (OSError, ImportError, RuntimeError) as exc:
                buses.unavailable[bus.id] = NotPluggedError(
                    f"cannot open the bus: {exc}", part=BUS_HARDWARE[bus.kind], bus=bus.id
                )
        return assemble(config, buses, time.sleep, time.monotonic, stack=stack)
    except BaseException:
        stack.close()
        raise


def _open(bus: BusConfig, stack: ExitStack) -> Any:
    if isinstance(bus, I2CBusConfig):
        from smbus2 import SMBus

        return stack.enter_context(SMBus(bus.number))
    if isinstance(bus, OneWireBusConfig):
        return W1Bus(bus.path, name=bus.id)
    if isinstance(bus, GpioBusConfig):
        module_name, class_name = GPIO_FACTORIES[bus.pin_factory or "lgpio"]
        factory = getattr(importlib.import_module(module_name), class_name)()
        stack.callback(factory.close)
        return factory
    if isinstance(bus, ModbusBusConfig):
        line = ModbusRtuBus(
            bus.port, baudrate=bus.baudrate, parity=bus.parity, stopbits=bus.stopbits,
            bytesize=bus.bytesize, timeout_s=bus.timeout_s, retries=bus.retries, name=bus.id,
        )
        stack.callback(line.close)
        return line
    raise TypeError(f"no way to open a {type(bus).__name__}")
