"""What the fleet knows of a box's controllers: its desired config (device_configs.desired_body) read with the
box's own loader, so the cut-off windows, leak watches and setpoints are the ones the box runs once applied.

A box whose controllers live only in its own file (no desired config from the fleet) has none here: the pages
then take what the box's decision events say (modes, setpoints), see box_night.py and box_heating.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from edge.config.loader import build_config
from edge.config.reader import ConfigError
from edge.controllers.heating.config import HeatingConfig
from edge.controllers.leak.config import LeakConfig
from edge.controllers.lighting.config import LightingConfig
from fleet.configs.merge import device_stub
from fleet.protocol import LOCAL_TABLES
from fleet.store.db import Database


@dataclass(frozen=True, slots=True)
class BoxSetup:
    """A box's controllers as its desired config has them (empty when the fleet holds none or it is unreadable)."""

    lighting: tuple[LightingConfig, ...] = ()
    leak: tuple[LeakConfig, ...] = ()
    heating: tuple[HeatingConfig, ...] = ()
    #: Relay id -> its load in watts (actuators' load_w), when declared.
    loads_w: tuple[tuple[str, float], ...] = ()
    #: Why the config could not be read, if it could not.
    problem: str | None = None

    def load_w(self, relay: str) -> float | None:
        """A relay's declared load, or None."""
        return dict(self.loads_w).get(relay)


def box_setup(db: Database, device: str) -> BoxSetup:
    """The controllers in `device`'s desired config, checked by the box's loader."""
    body = db.scalar("SELECT desired_body FROM device_configs WHERE device = ?", (device,))
    if body is None:
        return BoxSetup()
    place = db.one("SELECT latitude, longitude, timezone FROM registry WHERE device = ?", (device,))
    try:
        raw = {k: v for k, v in json.loads(body).items() if k not in LOCAL_TABLES}
        raw["device"] = device_stub(device, *(place or (None, None, None)))
        config = build_config(raw, Path(f"fleet config for {device}"))
    except (ValueError, TypeError, AttributeError) as error:
        return BoxSetup(problem=f"desired config not readable: {error}")
    except ConfigError as error:
        return BoxSetup(problem=f"desired config refused: {'; '.join(str(p) for p in error.problems)[:500]}")
    loads = tuple((a.id, float(a.load_w)) for a in config.actuators if getattr(a, "load_w", None))
    return BoxSetup(config.lighting, config.leak, config.heating, loads)
