"""Events: what the box keeps of what happened, who says so and why, in plain words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Event kinds every part of the agent uses.
EVENT_KINDS: frozenset[str] = frozenset({
    "decision",        # a relay was told to change, with the reason
    "alarm",           # an alarm was raised (latched until acknowledged)
    "alarm_acked",     # an alarm was acknowledged
    "fault",           # a sensor or actuator fault began
    "fault_cleared",   # that fault ended
    "fallback",        # a controller switched to its fallback (or back: data["active"])
    "override",        # a manual override was set, expired, cleared or refused
    "interlock",       # a safety rule overrode a wish (frost protection, burst valve)
    "agent",           # agent start, stop, restart
    "job",             # a calendar job ran, with what it found (a night's verdict, the store's upkeep)
    "command",         # a command from the fleet and what became of it
    "config",          # a config from the fleet applied, rejected or rolled back
    "link",            # the link to the fleet: a loop restart, a rejected message, a failure
})


@dataclass(frozen=True, slots=True)
class Event:
    """Something worth keeping: what happened, who says so, and why in plain words."""

    kind: str
    source: str
    reason: str
    at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if self.at.tzinfo is None:
            raise ValueError("event times must be timezone-aware")
