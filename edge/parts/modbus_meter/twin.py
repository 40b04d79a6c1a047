"""A configured Modbus meter's simulated twin: its declared registers, all zero, on the simulated line."""

from __future__ import annotations

from drivers.sim.modbus_slave import SimRegisterDevice
from edge.parts.modbus_meter.config import ModbusMeterConfig
from edge.simulation.box import SimBox


def attach(cfg: ModbusMeterConfig, box: SimBox) -> None:
    """A slave at the meter's unit id answering every declared register."""
    device = SimRegisterDevice()
    for spec in cfg.registers:
        device.set_registers(spec.function, spec.address, [0] * spec.word_count)
    box.attach_modbus(cfg.id, cfg.bus, cfg.unit_id, device)
