"""Composition root: builds the box's buses and drivers from its config (real or simulated)."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from drivers.bh1750 import BH1750
from drivers.ds18b20 import DS18B20
from drivers.errors import NotPluggedError, SensorError
from drivers.modbus import ModbusRtuBus
from drivers.onewire import W1Bus
from drivers.pulse_meter import PulseMeter
from drivers.reading import Sensor
from drivers.register_meter import RegisterMeter
from drivers.relay import Relay
from drivers.sdm120 import SDM120
from drivers.sdm630 import SDM630
from drivers.sht31 import SHT31
from drivers.veml7700 import VEML7700
from edge.config_model import (
    BH1750Config,
    BoxConfig,
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

if TYPE_CHECKING:
    from edge.sim_hardware import SimulatedParts

GPIO_FACTORIES: dict[str, tuple[str, str]] = {
    "lgpio": ("gpiozero.pins.lgpio", "LGPIOFactory"),
    "rpigpio": ("gpiozero.pins.rpigpio", "RPiGPIOFactory"),
    "pigpio": ("gpiozero.pins.pigpio", "PiGPIOFactory"),
    "native": ("gpiozero.pins.native", "NativeFactory"),
}

BUS_PARTS: dict[type, str] = {
    I2CBusConfig: "I2C adapter",
    OneWireBusConfig: "1-Wire master",
    GpioBusConfig: "GPIO header",
    ModbusBusConfig: "RS-485 serial port",
}


@dataclass
class Buses:
    """The bus objects of one box, by bus id; what differs between real and simulated boxes."""

    i2c: dict[str, Any] = field(default_factory=dict)
    onewire: dict[str, W1Bus] = field(default_factory=dict)
    gpio: dict[str, Any] = field(default_factory=dict)
    modbus: dict[str, ModbusRtuBus] = field(default_factory=dict)
    unavailable: dict[str, SensorError] = field(default_factory=dict)


@dataclass
class Hardware:
    """A box's buses and sensor drivers; `close()` releases everything that was opened."""

    config: BoxConfig
    buses: Buses
    sensors: dict[str, Sensor]
    sensor_faults: dict[str, SensorError]
    sleep: Callable[[float], None]
    monotonic: Callable[[], float]
    stack: ExitStack
    parts: SimulatedParts | None = None

    @property
    def simulated(self) -> bool:
        """Whether the buses are simulated (then `parts` steers what the sensors see)."""
        return self.parts is not None

    def open_relays(self) -> dict[str, Relay]:
        """Claim the relay outputs (each applies its safe state); released on close()."""
        relays: dict[str, Relay] = {}
        for cfg in self.config.actuators:
            relays[cfg.id] = build_relay(cfg, self.buses, self.monotonic)
            self.stack.callback(relays[cfg.id].close)
        return relays

    def close(self) -> None:
        """Release drivers, buses and simulated parts, last opened first."""
        self.stack.close()

    def __enter__(self) -> Hardware:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_hardware(config: BoxConfig) -> Hardware:
    """Build the box's hardware: simulated when the config says so, real otherwise."""
    if config.simulation.enabled:
        from edge.sim_hardware import open_simulated_hardware

        return open_simulated_hardware(config)
    stack = ExitStack()
    buses = _real_buses(config, stack)
    return assemble(config, buses, time.sleep, time.monotonic, stack=stack)


def assemble(
    config: BoxConfig,
    buses: Buses,
    sleep: Callable[[float], None],
    monotonic: Callable[[], float],
    *,
    stack: ExitStack,
    parts: SimulatedParts | None = None,
) -> Hardware:
    """Build every sensor driver on the given buses; a sensor that cannot be built is a fault."""
    sensors: dict[str, Sensor] = {}
    faults: dict[str, SensorError] = {}
    for cfg in config.sensors:
        if cfg.bus in buses.unavailable:
            faults[cfg.id] = buses.unavailable[cfg.bus]
            continue
        try:
            sensor = build_sensor(cfg, buses, sleep)
        except SensorError as exc:
            faults[cfg.id] = exc
            continue
        sensors[cfg.id] = sensor
        stack.callback(sensor.close)
    return Hardware(config, buses, sensors, faults, sleep, monotonic, stack, parts)


def build_sensor(cfg: SensorConfig, buses: Buses, sleep: Callable[[float], None]) -> Sensor:
    """One sensor driver on its bus."""
    if isinstance(cfg, BH1750Config):
        return BH1750(
            buses.i2c[cfg.bus], cfg.address, bus_name=cfg.bus, sleep=sleep,
            mode=cfg.mode, auto_range=cfg.auto_range, mtreg=cfg.mtreg,
        )
    if isinstance(cfg, VEML7700Config):
        return VEML7700(
            buses.i2c[cfg.bus], cfg.address, bus_name=cfg.bus, sleep=sleep,
            auto_range=cfg.auto_range, gain=cfg.gain, integration_time_ms=cfg.integration_time_ms,
        )
    if isinstance(cfg, SHT31Config):
        return SHT31(buses.i2c[cfg.bus], cfg.address, bus_name=cfg.bus, sleep=sleep, repeatability=cfg.repeatability)
    if isinstance(cfg, DS18B20Config):
        return DS18B20(buses.onewire[cfg.bus], cfg.rom_id)
    if isinstance(cfg, PulseMeterConfig):
        return _pulse_meter(cfg, buses)
    if isinstance(cfg, SDM120Config):
        return SDM120(buses.modbus[cfg.bus], cfg.unit_id)
    if isinstance(cfg, SDM630Config):
        return SDM630(buses.modbus[cfg.bus], cfg.unit_id)
    if isinstance(cfg, ModbusMeterConfig):
        return RegisterMeter(buses.modbus[cfg.bus], cfg.unit_id, cfg.registers, part=cfg.part)
    raise TypeError(f"no driver for {type(cfg).__name__}")


def _pulse_meter(cfg: PulseMeterConfig, buses: Buses) -> PulseMeter:
    try:
        return PulseMeter(
            buses.gpio[cfg.bus], cfg.pin,
            litres_per_pulse=cfg.litres_per_pulse, pulses_per_litre=cfg.pulses_per_litre,
            debounce_s=cfg.debounce_s, active_low=cfg.active_low, pull_up=cfg.pull_up, bus_name=cfg.bus,
        )
    except SensorError:
        raise
    except Exception as exc:  # gpiozero reports a busy or invalid pin with its own exceptions
        raise NotPluggedError(
            f"cannot claim the pin: {exc}", part="PulseMeter", bus=cfg.bus, address=f"GPIO{cfg.pin}"
        ) from exc


def build_relay(cfg: RelayConfig, buses: Buses, monotonic: Callable[[], float]) -> Relay:
    """One relay on its GPIO output (applies its safe state at once)."""
    if cfg.bus in buses.unavailable:
        raise buses.unavailable[cfg.bus]
    return Relay(
        buses.gpio[cfg.bus], cfg.pin,
        active_high=cfg.active_high, safe_state=cfg.safe_state, feedback_pin=cfg.feedback_pin,
        feedback_active_high=cfg.feedback_active_high, settle_s=cfg.settle_s, monotonic=monotonic, bus_name=cfg.bus,
    )


def _real_buses(config: BoxConfig, stack: ExitStack) -> Buses:
    buses = Buses()
    for bus in config.buses:
        try:
            if isinstance(bus, I2CBusConfig):
                from smbus2 import SMBus

                buses.i2c[bus.id] = stack.enter_context(SMBus(bus.number))
            elif isinstance(bus, OneWireBusConfig):
                buses.onewire[bus.id] = W1Bus(bus.path, name=bus.id)
            elif isinstance(bus, GpioBusConfig):
                buses.gpio[bus.id] = _gpio_factory(bus.pin_factory)
                stack.callback(buses.gpio[bus.id].close)
            elif isinstance(bus, ModbusBusConfig):
                buses.modbus[bus.id] = ModbusRtuBus(
                    bus.port, baudrate=bus.baudrate, parity=bus.parity, stopbits=bus.stopbits,
                    bytesize=bus.bytesize, timeout_s=bus.timeout_s, retries=bus.retries, name=bus.id,
                )
                stack.callback(buses.modbus[bus.id].close)
        except (OSError, ImportError, RuntimeError) as exc:
            buses.unavailable[bus.id] = NotPluggedError(
                f"cannot open the bus: {exc}", part=BUS_PARTS[type(bus)], bus=bus.id
            )
    return buses


def _gpio_factory(name: str | None) -> Any:
    import importlib

    module_name, class_name = GPIO_FACTORIES[name or "lgpio"]
    return getattr(importlib.import_module(module_name), class_name)()
