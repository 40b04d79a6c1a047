"""The box's relays: applies commands idempotently and remembers who decided each state and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from drivers.errors import ActuatorError
from drivers.relay import Relay
from edge.controllers import overrides as manual
from edge.controllers.base import RelayCommand
from edge.controllers.events import Event
from edge.controllers.overrides import Override
from edge.parts.relay.config import RelayConfig


@dataclass
class RelayState:
    """One relay as the status command shows it."""

    config: RelayConfig
    on: bool
    decided_by: str
    reason: str
    until: datetime | None = None
    feedback_fault: str | None = None

    def snapshot(self, feedback: bool | None) -> dict[str, object]:
        """The part of the status snapshot for this relay."""
        return {
            "on": self.on,
            "decided_by": self.decided_by,
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
            "feedback": feedback,
            "fault": self.feedback_fault,
        }


class RelayBank:
    """Drives relays from controller commands; a relay no controller owns stays in its safe state."""

    def __init__(self, relays: Mapping[str, Relay], configs: tuple[RelayConfig, ...]) -> None:
        self._relays = relays
        self.states = {
            c.id: RelayState(c, c.safe_state, "safe state", "no decision yet: safe state") for c in configs
        }

    def apply(
        self, owner: str, command: RelayCommand, overrides: Mapping[str, Override], now: datetime
    ) -> None:
        """Set a relay as a controller commands (None: its safe state)."""
        state = self.states[command.relay]
        on = state.config.safe_state if command.on is None else command.on
        override = manual.holding(overrides, command.relay, now) if overrides else None
        if override is not None and override.on == on:
            state.decided_by, state.until = f"override by {override.by}", override.until
        else:
            state.decided_by, state.until = (owner if command.on is not None else f"{owner} (safe state)"), None
        state.reason = command.reason
        if state.on != on or self._relays[command.relay].is_on != on:
            self._relays[command.relay].set(on)
        state.on = on

    def check_feedback(self, now: datetime) -> list[Event]:
        """Fault events for relays whose feedback contact disagrees (and when it agrees again)."""
        events: list[Event] = []
        for relay_id, state in self.states.items():
            try:
                self._relays[relay_id].check()
            except ActuatorError as exc:
                if state.feedback_fault is None:
                    events.append(Event("fault", relay_id, str(exc), now, {"relay": relay_id, "code": exc.code}))
                state.feedback_fault = str(exc)
                continue
            if state.feedback_fault is not None:
                events.append(Event(
                    "fault_cleared", relay_id, f"{relay_id} feedback agrees again", now,
                    {"relay": relay_id, "code": "feedback_mismatch"},
                ))
                state.feedback_fault = None
        return events

    def close(self) -> None:
        """Release every relay (each passes through its safe state, then its output is let go)."""
        for relay in self._relays.values():
            relay.close()

    def snapshot(self) -> dict[str, object]:
        """Every relay's part of the status snapshot."""
        return {rid: s.snapshot(self._relays[rid].feedback) for rid, s in self.states.items()}
