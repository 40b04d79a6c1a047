"""Builds a box's drivers on its buses, through the parts registry; a part that cannot be built is a fault."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from drivers.errors import SensorError
from drivers.reading import Sensor
from drivers.relay import Relay
from edge.config.box import BoxConfig
from edge.parts.part import BuildContext


@dataclass
class Buses:
    """The bus objects of one box by bus id (what differs between real and simulated boxes)."""

    objects: dict[str, Any] = field(default_factory=dict)
    #: Buses that could not be opened, with the fault every part on them reports.
    unavailable: dict[str, SensorError] = field(default_factory=dict)

    def of_kind(self, config: BoxConfig, kind: str) -> dict[str, Any]:
        """The open buses of one kind ("i2c", "onewire", ...) by id."""
        return {b.id: self.objects[b.id] for b in config.buses if b.kind == kind and b.id in self.objects}


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
    #: The simulated parts behind the buses, when the box is simulated (tests and the world steer them).
    parts: Any = None

    @property
    def simulated(self) -> bool:
        """Whether the buses are simulated (then `parts` steers what the sensors see)."""
        return self.parts is not None

    def open_relays(self) -> dict[str, Relay]:
        """Claim the relay outputs (each applies its safe state); released on close()."""
        relays: dict[str, Relay] = {}
        context = BuildContext(self.sleep, self.monotonic)
        for cfg in self.config.actuators:
            if cfg.bus in self.buses.unavailable:
                raise self.buses.unavailable[cfg.bus]
            relays[cfg.id] = self.config.parts.of(cfg).build(cfg, self.buses.objects[cfg.bus], context)
            self.stack.callback(relays[cfg.id].close)
        return relays

    def close(self) -> None:
        """Release drivers, buses and simulated parts, last opened first."""
        self.stack.close()

    def __enter__(self) -> Hardware:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def assemble(
    config: BoxConfig,
    buses: Buses,
    sleep: Callable[[float], None],
    monotonic: Callable[[], float],
    *,
    stack: ExitStack,
    parts: Any = None,
) -> Hardware:
    """Build every sensor driver on the given buses; a sensor that cannot be built is a fault."""
    sensors: dict[str, Sensor] = {}
    faults: dict[str, SensorError] = {}
    context = BuildContext(sleep, monotonic)
    for cfg in config.sensors:
        if cfg.bus in buses.unavailable:
            faults[cfg.id] = buses.unavailable[cfg.bus]
            continue
        try:
            sensor = config.parts.of(cfg).build(cfg, buses.objects[cfg.bus], context)
        except SensorError as exc:
            faults[cfg.id] = exc
            continue
        sensors[cfg.id] = sensor
        stack.callback(sensor.close)
    return Hardware(config, buses, sensors, faults, sleep, monotonic, stack, parts)
