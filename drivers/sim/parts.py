"""The simulated parts behind one box, steered by sensor and relay id (by tests and the world)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from drivers.sim.clock import SimClock
from drivers.sim.i2c import SimI2CBus
from drivers.sim.lamp import LampCircuit
from drivers.sim.modbus_slave import SimRegisterDevice
from drivers.sim.onewire import SimW1Tree
from drivers.sim.pulses import PulseSource
from drivers.sim.switch import SwitchContact

#: Flow is simulated in steps this long; several meters share each step.
FLOW_STEP_S = 1.0


@dataclass
class I2CPart:
    """A simulated chip at its place on a simulated I2C bus."""

    bus: SimI2CBus
    address: int
    chip: Any


@dataclass
class W1Part:
    """A simulated DS18B20 in a simulated 1-Wire tree."""

    tree: SimW1Tree
    rom_id: str


@dataclass
class MeterPart:
    """A pulse source with the flow it is currently simulating."""

    source: PulseSource
    flow_lph: float
    litres_per_pulse: float
    connected: bool = True


@dataclass
class SimulatedParts:
    """Every simulated part of a box by the id of the sensor or relay it stands for."""

    clock: SimClock
    i2c: dict[str, I2CPart] = field(default_factory=dict)
    w1: dict[str, W1Part] = field(default_factory=dict)
    meters: dict[str, MeterPart] = field(default_factory=dict)
    lamps: dict[str, LampCircuit] = field(default_factory=dict)
    modbus: dict[str, SimRegisterDevice] = field(default_factory=dict)
    switches: dict[str, SwitchContact] = field(default_factory=dict)

    def set_illuminance(self, sensor_id: str, illuminance_lx: float) -> None:
        """The light falling on a lux sensor."""
        self.i2c[sensor_id].chip.illuminance_lx = illuminance_lx

    def set_temperature(self, sensor_id: str, temperature_c: float) -> None:
        """The temperature around a thermometer (DS18B20 or SHT31)."""
        if sensor_id in self.w1:
            part = self.w1[sensor_id]
            part.tree.set_temperature(part.rom_id, temperature_c)
        else:
            self.i2c[sensor_id].chip.temperature_c = temperature_c

    def set_humidity(self, sensor_id: str, relative_humidity_pct: float) -> None:
        """The relative humidity around an SHT31."""
        self.i2c[sensor_id].chip.relative_humidity_pct = relative_humidity_pct

    def set_flow(self, sensor_id: str, flow_lph: float) -> None:
        """The water flowing through a pulse meter."""
        self.meters[sensor_id].flow_lph = max(0.0, flow_lph)

    def set_switch(self, sensor_id: str, active: bool) -> None:
        """Turn a contact on a digital input (a key switch) active or not."""
        self.switches[sensor_id].set(active)

    def set_meter_value(self, sensor_id: str, name: str, value: float) -> None:
        """One value of a simulated Modbus meter (an attribute such as `active_power_w`)."""
        setattr(self.modbus[sensor_id], name, value)

    def unplug(self, sensor_id: str) -> None:
        """Disconnect a sensor's part: the chip leaves its bus, the meter stops answering."""
        if sensor_id in self.i2c:
            part = self.i2c[sensor_id]
            if part.address in part.bus.chips:
                part.bus.detach(part.address)
        elif sensor_id in self.w1:
            self.w1[sensor_id].tree.unplug(self.w1[sensor_id].rom_id)
        elif sensor_id in self.meters:
            self.meters[sensor_id].connected = False
        elif sensor_id in self.modbus:
            self.modbus[sensor_id].fault = "silent"
        elif sensor_id in self.switches:
            self.switches[sensor_id].plug(False)
        else:
            raise KeyError(sensor_id)

    def plug(self, sensor_id: str) -> None:
        """Reconnect a sensor's part as it was."""
        if sensor_id in self.i2c:
            part = self.i2c[sensor_id]
            if part.address not in part.bus.chips:
                part.bus.attach(part.address, part.chip)
        elif sensor_id in self.w1:
            self.w1[sensor_id].tree.plug(self.w1[sensor_id].rom_id)
        elif sensor_id in self.meters:
            self.meters[sensor_id].connected = True
        elif sensor_id in self.modbus:
            self.modbus[sensor_id].fault = None
        elif sensor_id in self.switches:
            self.switches[sensor_id].plug(True)
        else:
            raise KeyError(sensor_id)

    def relay_energised(self, relay_id: str) -> bool:
        """Whether the contactor behind a relay is closed (its load powered)."""
        return self.lamps[relay_id].lit

    def load_w(self, relay_id: str) -> float:
        """Power drawn by the load behind a relay."""
        return self.lamps[relay_id].power_w

    def advance(self, duration_s: float) -> None:
        """Let simulated time pass, with water flowing through every connected pulse meter."""
        flowing = [m for m in self.meters.values() if m.connected and m.flow_lph > 0]
        if not flowing:
            self.clock.advance(duration_s)
            return
        if len(flowing) == 1:
            meter = flowing[0]
            meter.source.run_flow(meter.flow_lph, duration_s, meter.litres_per_pulse)
            return
        share = len(flowing)
        remaining_s = duration_s
        while remaining_s > 1e-12:
            step_s = min(FLOW_STEP_S, remaining_s)
            # Each source runs for its share of the step at a proportionally higher flow, so
            # every meter gets exactly flow x step of water while the one clock moves by step.
            for meter in flowing:
                meter.source.run_flow(meter.flow_lph * share, step_s / share, meter.litres_per_pulse)
            remaining_s -= step_s
