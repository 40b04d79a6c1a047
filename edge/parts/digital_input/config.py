"""The `digital_input` sensor table: a contact on a GPIO input (a fire brigade's key switch), active or not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from drivers.digital_input import PULLS
from edge.config.reader import Table, one_of
from edge.parts.fields import gpio_pin

#: The active level a contact has by default on each bias: a normally-open contact to ground with a pull-up
#: reads low when closed, one to 3.3 V with a pull-down reads high.
DEFAULT_ACTIVE = {"up": "low", "down": "high"}


@dataclass(frozen=True, slots=True)
class DigitalInputConfig:
    """A contact on a GPIO input."""

    id: str
    bus: str
    interval_s: float
    pin: int
    pull: str = "up"
    active_state: str = "low"
    driver: str = "digital_input"

    @property
    def active_high(self) -> bool:
        """Whether a high level means active."""
        return self.active_state == "high"


def parse(t: Table, fields: dict[str, Any]) -> DigitalInputConfig:
    """One `driver = "digital_input"` table: pin, pull ("up", "down", "floating"), active_state ("low", "high").

    active_state defaults to what a normally-open contact gives on the pull (up: low, down: high); a floating
    pin (an outside resistor) needs it said.
    """
    pull = t.get("pull", str, "up", one_of(*PULLS))
    default = DEFAULT_ACTIVE.get(pull)
    if default is None and not t.has("active_state") and t.ok:
        t.fail("active_state", "missing: a floating pin (pull = \"floating\") needs active_state \"low\" or \"high\"")
    active = t.get("active_state", str, default or "low", one_of("low", "high"))
    return DigitalInputConfig(**fields, pin=gpio_pin(t, "pin") or 0, pull=pull, active_state=active)
