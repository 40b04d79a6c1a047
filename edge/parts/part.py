"""What a part is: its config schema, how its driver is built on a bus, and where its simulated twin lives."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from edge.config.reader import Table

C = TypeVar("C")

#: A place a part takes on its bus, by the config field that names it: ("address", 0x23), ("pin", 17).
Claims = tuple[tuple[str, int | str], ...]


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What a driver may need beyond its bus: the time it sleeps on and reads."""

    sleep: Callable[[float], None]
    monotonic: Callable[[], float]


def _fine(_cfg: Any, _reading: str) -> float:
    return 0.0


@dataclass(frozen=True, slots=True)
class Part(Generic[C]):
    """One kind of part, registered once: the config, the live driver and the simulated twin go together.

    `twin` names the module of the simulated twin ("package.module", with an `attach` function);
    it is imported only when a box is simulated, so the live path never loads simulation code.
    """

    #: The `driver` value of its TOML table, and its key in the registry.
    driver: str
    #: The part's name as a technician reads it on the label ("BH1750").
    name: str
    #: "sensor" (under [[sensors]]) or "actuator" (under [[actuators]]).
    role: str
    #: The kind of bus it sits on ("i2c", "onewire", "gpio", "modbus_rtu").
    bus: str
    #: Its config dataclass and the parser of its TOML table (given the fields every sensor has).
    config: type[C]
    parse: Callable[[Table, dict[str, Any]], C]
    #: Its live driver, on the bus object the composition root opened.
    build: Callable[[C, Any, BuildContext], Any]
    #: The places it takes on its bus (checked for clashes, scanned for by the probe).
    claims: Callable[[C], Claims]
    twin: str
    #: The readings every config of it gives, by name ("illuminance_lx").
    readings: tuple[str, ...] = ()
    #: For a part whose readings its config declares (a register map): those readings.
    configured_readings: Callable[[C], tuple[str, ...]] | None = None
    #: The smallest step of a reading (litres per pulse; 0 for fine values).
    resolution: Callable[[C, str], float] = _fine
    #: Its name as configured, when the config may rename it (a Modbus meter's `part`).
    label: Callable[[C], str] | None = None
    #: What a simulated world can make its twin see ("illuminance", "temperature", "flow").
    world_inputs: frozenset[str] = frozenset()

    def readings_of(self, cfg: C) -> tuple[str, ...]:
        """The readings a configured part gives."""
        if self.configured_readings is not None:
            return self.configured_readings(cfg)
        return self.readings

    def display_name(self, cfg: C) -> str:
        """The part's name for this config."""
        return self.label(cfg) if self.label is not None else self.name


@dataclass(frozen=True, slots=True)
class Registry:
    """Every part the box knows, by driver key."""

    parts: tuple[Part[Any], ...]
    _by_driver: Mapping[str, Part[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_driver: dict[str, Part[Any]] = {}
        for part in self.parts:
            if part.driver in by_driver:
                raise ValueError(f"part {part.driver!r} is registered twice")
            if part.role not in ("sensor", "actuator"):
                raise ValueError(f"part {part.driver!r}: role must be 'sensor' or 'actuator', not {part.role!r}")
            by_driver[part.driver] = part
        object.__setattr__(self, "_by_driver", MappingProxyType(by_driver))

    def __iter__(self) -> Iterator[Part[Any]]:
        return iter(self.parts)

    def __contains__(self, driver: object) -> bool:
        return driver in self._by_driver

    def __getitem__(self, driver: str) -> Part[Any]:
        return self._by_driver[driver]

    def of(self, cfg: Any) -> Part[Any]:
        """The part a config entry was parsed for."""
        return self._by_driver[cfg.driver]

    def drivers(self, role: str) -> tuple[str, ...]:
        """The driver keys of one role, sorted."""
        return tuple(sorted(p.driver for p in self.parts if p.role == role))

    def giving(self, reading: str) -> tuple[str, ...]:
        """Driver keys of the parts that give a reading whatever their config, sorted."""
        return tuple(sorted(p.driver for p in self.parts if reading in p.readings))

    def extended(self, parts: Iterable[Part[Any]]) -> Registry:
        """This registry with more parts (a product built on Hameau, or a test)."""
        return Registry((*self.parts, *parts))

