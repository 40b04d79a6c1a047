"""Relays the fleet knows of before any of their decisions came in: the `[[actuators]]` of driver "relay" in each
box's desired config (fleet/configs), shown as switches whose state is not known yet."""

from __future__ import annotations

import json
from typing import Any

from fleet.homeassistant.entities import SWITCH
from fleet.protocol import DEVICE_PATTERN
from fleet.store.db import Database

#: The value of a switch whose state no decision told yet (no state message is published for it).
UNKNOWN = ""


def relays_in(body: Any) -> list[str]:
    """The relay ids of a desired config's `actuators` (anything else in it is the box's to check)."""
    actuators = body.get("actuators") if isinstance(body, dict) else None
    if not isinstance(actuators, list):
        return []
    return [a["id"] for a in actuators if isinstance(a, dict) and a.get("driver") == "relay"
            and isinstance(a.get("id"), str) and DEVICE_PATTERN.fullmatch(a["id"]) is not None]


def add_desired_relays(db: Database) -> int:
    """Add a switch (state unknown) for each relay of a desired config that has none yet; how many were added."""
    known = {(d, s) for d, s in db.query("SELECT device, source FROM ha_entities WHERE component = ?", (SWITCH,))}
    missing = []
    for device, text in db.query("SELECT device, desired_body FROM device_configs WHERE desired_body IS NOT NULL"):
        try:
            body = json.loads(text)
        except ValueError:
            continue
        missing += [(device, relay) for relay in relays_in(body) if (device, relay) not in known]
    if missing:
        with db.transaction():
            db.executemany(
                "INSERT INTO ha_entities (device, component, source, name, lane, seq, value, value_at)"
                " VALUES (?, ?, ?, '', 'event', 0, ?, NULL) ON CONFLICT (device, component, source, name) DO NOTHING",
                [(device, SWITCH, relay, UNKNOWN) for device, relay in missing],
            )
    return len(missing)
