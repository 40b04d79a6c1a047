"""The kinds of controller a box config can declare: its TOML section, its parser and its controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.config.model import DeviceConfig
from edge.config.reader import Table
from edge.controllers.base import Controller, Fallback
from edge.controllers.fields import ConfigContext
from edge.controllers.heating.config import parse_heating
from edge.controllers.heating.controller import HeatingController
from edge.controllers.heating.fallback import HeatingFallback
from edge.controllers.leak.config import parse_leak
from edge.controllers.leak.controller import LeakController
from edge.controllers.leak.fallback import LeakFallback
from edge.controllers.lighting.config import parse_lighting
from edge.controllers.lighting.controller import LightingController
from edge.controllers.lighting.fallback import LightingFallback


@dataclass(frozen=True, slots=True)
class ControllerKind:
    """One kind of controller: `[[section]]` tables parsed into configs, each driving a controller."""

    section: str
    parse: Callable[[Table, ConfigContext], Any]
    build: Callable[[Any, DeviceConfig], Controller[Any]]
    #: The config fields naming the relays it drives (a relay has one driver only).
    relay_fields: tuple[str, ...]
    #: What stands in for a controller of this kind when it raises (built from the same config).
    fallback: Callable[[Any, DeviceConfig], Fallback] | None = None


KINDS: tuple[ControllerKind, ...] = (
    ControllerKind("lighting", parse_lighting, LightingController, ("relay",), LightingFallback),
    ControllerKind("leak", parse_leak, LeakController, ("valve_relay",), LeakFallback),
    ControllerKind("heating", parse_heating, HeatingController, ("relay",), HeatingFallback),
)


def fallback_for(controller: Controller[Any], device: DeviceConfig) -> Fallback | None:
    """The fallback of a controller of a known kind (a subclass too), from its config; None for others."""
    for kind in KINDS:
        if kind.fallback is not None and isinstance(kind.build, type) and isinstance(controller, kind.build):
            return kind.fallback(getattr(controller, "config"), device)  # noqa: B009 - not in the protocol
    return None
