"""Everything one box is configured with, as edge.config.loader builds it from its TOML file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edge.config.buses import BusConfig
from edge.config.link import LinkConfig
from edge.config.model import AgentConfig, DeviceConfig, SensorConfig, SimulationConfig
from edge.controllers.heating.config import HeatingConfig
from edge.controllers.leak.config import LeakConfig
from edge.controllers.lighting.config import LightingConfig
from edge.parts.part import Registry
from edge.parts.registry import REGISTRY
from edge.parts.relay.config import RelayConfig


@dataclass(frozen=True, slots=True)
class BoxConfig:
    """Everything one box is configured with, and the registry of parts its file was read with."""

    path: Path
    device: DeviceConfig
    buses: tuple[BusConfig, ...]
    sensors: tuple[SensorConfig, ...]
    actuators: tuple[RelayConfig, ...]
    simulation: SimulationConfig
    agent: AgentConfig = AgentConfig()
    lighting: tuple[LightingConfig, ...] = ()
    leak: tuple[LeakConfig, ...] = ()
    heating: tuple[HeatingConfig, ...] = ()
    parts: Registry = REGISTRY
    link: LinkConfig | None = None

    def bus(self, bus_id: str) -> BusConfig:
        """The bus of a given id."""
        for bus in self.buses:
            if bus.id == bus_id:
                return bus
        raise KeyError(bus_id)
