"""The kinds of controller a box config can declare: its TOML section, its parser and its controller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.config.model import DeviceConfig
from edge.config.reader import Table
from edge.controllers.base import Controller
from edge.controllers.fields import ConfigContext
from edge.controllers.heating.config import parse_heating
from edge.controllers.heating.controller import HeatingController
from edge.controllers.leak.config import parse_leak
from edge.controllers.leak.controller import LeakController
from edge.controllers.lighting.config import parse_lighting
from edge.controllers.lighting.controller import LightingController


@dataclass(frozen=True, slots=True)
class ControllerKind:
    """One kind of controller: `[[section]]` tables parsed into configs, each driving a controller."""

    section: str
    parse: Callable[[Table, ConfigContext], Any]
    build: Callable[[Any, DeviceConfig], Controller[Any]]
    #: The config fields naming the relays it drives (a relay has one driver only).
    relay_fields: tuple[str, ...]


KINDS: tuple[ControllerKind, ...] = (
    ControllerKind("lighting", parse_lighting, LightingController, ("relay",)),
    ControllerKind("leak", parse_leak, LeakController, ("valve_relay",)),
    ControllerKind("heating", parse_heating, HeatingController, ("relay",)),
)
