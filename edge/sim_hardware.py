"""Composition root for a simulated box: the same drivers on simulated buses and parts."""

from __future__ import annotations

import functools
from contextlib import ExitStack
from pathlib import Path

from drivers.modbus import ModbusRtuBus
from drivers.onewire import W1Bus
from drivers.sim import ram_tempdir
from drivers.sim.bh1750 import SimBH1750
from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory
from drivers.sim.i2c import SimI2CBus
from drivers.sim.lamp import LampCircuit
from drivers.sim.modbus_loopback import LoopbackModbusClient
from drivers.sim.modbus_slave import SimModbusSlave, SimRegisterDevice, SimSDM120, SimSDM630
from drivers.sim.onewire import SimW1Tree
from drivers.sim.parts import I2CPart, MeterPart, SimulatedParts, W1Part
from drivers.sim.pulses import PulseSource
from drivers.sim.sht31 import SimSHT31
from drivers.sim.veml7700 import SimVEML7700
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
    SDM120Config,
    SDM630Config,
    SHT31Config,
    SimulationConfig,
    VEML7700Config,
)
from edge.hardware import Buses, Hardware, assemble


def open_simulated_hardware(
    config: BoxConfig, clock: SimClock | None = None, *, modbus_line: str = "pty"
) -> Hardware:
    """Build simulated buses and parts for every configured sensor and relay, then the real drivers.

    `modbus_line`: "pty" serves the simulated meters on a real pseudo-terminal (pyserial and its
    timing, as on the box); "loopback" hands the same RTU frames over in-process, for long runs.
    """
    if modbus_line not in ("pty", "loopback"):
        raise ValueError(f"modbus_line must be 'pty' or 'loopback', got {modbus_line!r}")
    stack = ExitStack()
    parts = SimulatedParts(clock or SimClock())
    try:
        trees: dict[str, SimW1Tree] = {}
        slaves: dict[str, SimModbusSlave] = {}
        buses = _buses(config, trees, slaves, stack, parts.clock, modbus_line)
        _attach_parts(config, config.simulation, buses, trees, slaves, parts)
        return assemble(config, buses, parts.advance, parts.clock.monotonic, stack=stack, parts=parts)
    except BaseException:
        stack.close()
        raise


def _buses(
    config: BoxConfig,
    trees: dict[str, SimW1Tree],
    slaves: dict[str, SimModbusSlave],
    stack: ExitStack,
    clock: SimClock,
    modbus_line: str,
) -> Buses:
    buses = Buses()
    for bus in config.buses:
        if isinstance(bus, I2CBusConfig):
            buses.i2c[bus.id] = SimI2CBus(bus.number)
        elif isinstance(bus, OneWireBusConfig):
            root = Path(stack.enter_context(ram_tempdir("hameau-w1-")))
            trees[bus.id] = SimW1Tree(root)
            buses.onewire[bus.id] = W1Bus(root, name=bus.id)
        elif isinstance(bus, GpioBusConfig):
            buses.gpio[bus.id] = SimPinFactory(clock.monotonic)
            stack.callback(buses.gpio[bus.id].close)
        elif isinstance(bus, ModbusBusConfig):
            slave = SimModbusSlave()
            slaves[bus.id] = slave
            if modbus_line == "pty":
                port, factory = slave.start(), {}
                stack.callback(slave.stop)
            else:
                port = f"loopback:{bus.id}"
                factory = {"client_factory": functools.partial(LoopbackModbusClient, slave=slave)}
            buses.modbus[bus.id] = ModbusRtuBus(
                port, baudrate=bus.baudrate, parity=bus.parity, stopbits=bus.stopbits,
                bytesize=bus.bytesize, timeout_s=bus.timeout_s, retries=bus.retries, name=bus.id, **factory,
            )
            stack.callback(buses.modbus[bus.id].close)
    return buses


def _attach_parts(
    config: BoxConfig,
    sim: SimulationConfig,
    buses: Buses,
    trees: dict[str, SimW1Tree],
    slaves: dict[str, SimModbusSlave],
    parts: SimulatedParts,
) -> None:
    clock = parts.clock.monotonic
    for s in config.sensors:
        if isinstance(s, BH1750Config):
            chip: object = SimBH1750(clock, illuminance_lx=sim.illuminance_lx)
        elif isinstance(s, VEML7700Config):
            chip = SimVEML7700(clock, illuminance_lx=sim.illuminance_lx)
        elif isinstance(s, SHT31Config):
            chip = SimSHT31(clock, temperature_c=sim.temperature_c, relative_humidity_pct=sim.relative_humidity_pct)
        elif isinstance(s, DS18B20Config):
            trees[s.bus].add_ds18b20(s.rom_id, sim.temperature_c)
            parts.w1[s.id] = W1Part(trees[s.bus], s.rom_id)
        elif isinstance(s, PulseMeterConfig):
            source = PulseSource(buses.gpio[s.bus], s.pin, parts.clock, active_low=s.active_low)
            litres_per_pulse = s.litres_per_pulse or 1.0 / (s.pulses_per_litre or 1.0)
            parts.meters[s.id] = MeterPart(source, sim.flow_lph, litres_per_pulse)
        elif isinstance(s, (SDM120Config, SDM630Config, ModbusMeterConfig)):
            parts.modbus[s.id] = slaves[s.bus].add_device(s.unit_id, _meter(s, sim))
        if isinstance(s, (BH1750Config, VEML7700Config, SHT31Config)):
            buses.i2c[s.bus].attach(s.address, chip)
            parts.i2c[s.id] = I2CPart(buses.i2c[s.bus], s.address, chip)
        if s.id in sim.unplugged:
            parts.unplug(s.id)
    for a in config.actuators:
        parts.lamps[a.id] = LampCircuit(
            buses.gpio[a.bus], a.pin, a.feedback_pin,
            relay_active_high=a.active_high, feedback_active_high=a.feedback_active_high, lamps_w=a.load_w,
        )


def _meter(s: SDM120Config | SDM630Config | ModbusMeterConfig, sim: SimulationConfig) -> SimRegisterDevice:
    power_w = sim.voltage_v * sim.current_a
    if isinstance(s, SDM120Config):
        return SimSDM120(
            voltage_v=sim.voltage_v, current_a=sim.current_a, active_power_w=power_w,
            apparent_power_va=power_w, power_factor=1.0, import_energy_kwh=1234.5, total_energy_kwh=1234.5,
        )
    if isinstance(s, SDM630Config):
        return SimSDM630(
            voltage_l1_v=sim.voltage_v, voltage_l2_v=sim.voltage_v, voltage_l3_v=sim.voltage_v,
            current_l1_a=sim.current_a, current_l2_a=sim.current_a, current_l3_a=sim.current_a,
            active_power_l1_w=power_w, active_power_l2_w=power_w, active_power_l3_w=power_w,
            active_power_w=3 * power_w, import_energy_kwh=4321.0, total_energy_kwh=4321.0,
        )
    device = SimRegisterDevice()
    for spec in s.registers:
        device.set_registers(spec.function, spec.address, [0] * spec.word_count)
    return device
