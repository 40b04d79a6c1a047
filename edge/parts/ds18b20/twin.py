"""The DS18B20's simulated twin: its w1_slave file in a simulated 1-Wire sysfs tree."""

from __future__ import annotations

from drivers.sim.parts import W1Part
from edge.parts.ds18b20.config import DS18B20Config
from edge.simulation.box import SimBox


def attach(cfg: DS18B20Config, box: SimBox) -> None:
    """Add a simulated DS18B20 to its bus's tree, at the [simulation] table's temperature."""
    tree = box.onewire[cfg.bus]
    tree.add_ds18b20(cfg.rom_id, box.start.temperature_c)
    box.parts.w1[cfg.id] = W1Part(tree, cfg.rom_id)
