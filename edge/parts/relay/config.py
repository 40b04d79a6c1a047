"""The `relay` actuator table: a relay or contactor coil on a GPIO output, with its safe state."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edge.config.reader import Table, in_range, one_of
from edge.parts.fields import gpio_pin


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """A relay or contactor coil on a GPIO output."""

    id: str
    bus: str
    pin: int
    active_high: bool = True
    safe_state: bool = False
    feedback_pin: int | None = None
    feedback_active_high: bool = True
    settle_s: float = 0.2
    load_w: float = 0.0
    driver: str = "relay"


def parse(t: Table, fields: dict[str, Any]) -> RelayConfig:
    """One `[[actuators]]` table of driver "relay"."""
    return RelayConfig(
        **fields,
        pin=gpio_pin(t, "pin") or 0,
        active_high=t.get("active_high", bool, True),
        safe_state=t.get("safe_state", str, "off", one_of("on", "off")) == "on",
        feedback_pin=gpio_pin(t, "feedback_pin", required=False),
        feedback_active_high=t.get("feedback_active_high", bool, True),
        settle_s=t.get("settle_s", float, 0.2, in_range(0, 10, " s")),
        load_w=t.get("load_w", float, 0.0, in_range(0, 100_000, " W")),
    )
