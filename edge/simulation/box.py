"""A simulated box under construction: its simulated buses and the parts' twins, by id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.sim.clock import SimClock
from drivers.sim.gpio import SimPinFactory
from drivers.sim.i2c import SimI2CBus
from drivers.sim.modbus_slave import SimModbusSlave, SimRegisterDevice
from drivers.sim.onewire import SimW1Tree
from drivers.sim.parts import I2CPart, SimulatedParts
from edge.config.model import SimulationConfig


@dataclass
class SimBox:
    """What a part's twin is attached to: the simulated buses by bus id, the clock, the starting conditions."""

    clock: SimClock
    start: SimulationConfig
    parts: SimulatedParts
    i2c: dict[str, SimI2CBus] = field(default_factory=dict)
    onewire: dict[str, SimW1Tree] = field(default_factory=dict)
    gpio: dict[str, SimPinFactory] = field(default_factory=dict)
    modbus: dict[str, SimModbusSlave] = field(default_factory=dict)

    def attach_i2c(self, sensor_id: str, bus_id: str, address: int, chip: Any) -> None:
        """Put a simulated chip on an I2C bus, steered by the sensor's id."""
        bus = self.i2c[bus_id]
        bus.attach(address, chip)
        self.parts.i2c[sensor_id] = I2CPart(bus, address, chip)

    def attach_modbus(self, sensor_id: str, bus_id: str, unit_id: int, device: SimRegisterDevice) -> None:
        """Put a simulated slave on an RS-485 line, steered by the sensor's id."""
        self.parts.modbus[sensor_id] = self.modbus[bus_id].add_device(unit_id, device)
