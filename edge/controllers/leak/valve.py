"""The leak watch's shut-off valve: closed while a burst alarm is latched, whatever a technician orders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from edge.controllers import overrides as manual
from edge.controllers.base import RelayCommand
from edge.controllers.events import Event
from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.state import LeakState


class Valve:
    """One watch's valve relay: its command for a state, and the interlock a latched burst holds on it."""

    def __init__(self, config: LeakConfig, zone: ZoneInfo) -> None:
        self.config = config
        self.relay = config.valve_relay
        self._zone = zone
        self._closed_on = config.valve_closed_when == "on"
        #: What an override's on and off do to the water.
        self._names = ("open", "close") if self._closed_on else ("close", "open")

    def interlocks(self, state: LeakState) -> dict[str, str]:
        """The valve an override may not open while a burst alarm is latched, with why."""
        if self.relay is None or not state.latched("burst"):
            return {}
        return {self.relay: f"burst alarm {self.config.id}/burst latched: the valve stays closed "
                            "until the alarm is acknowledged"}

    def command(
        self, state: LeakState, overrides: Mapping[str, manual.Override], now: datetime, starting: bool,
        events: list[Event],
    ) -> tuple[tuple[RelayCommand, ...], LeakState]:
        """The valve's command for now (none without a valve), and the state remembering it."""
        relay = self.relay
        if relay is None:
            return (), state
        burst = state.latched("burst")
        interlock = self.interlocks(state).get(relay, "")

        def refuse(override: manual.Override) -> str:
            return interlock if interlock and override.on != self._closed_on else ""

        review = manual.review(
            relay, overrides, now, source=self.config.id, zone=self._zone, memory=state.overrides,
            interlock=refuse, names=self._names,
        )
        events.extend(review.events)
        closed, why = burst, "burst alarm latched" if burst else "no burst: water supply open"
        if review.active is not None:
            closed = review.active.on == self._closed_on
            why = manual.describe(review.active, self._zone, now, self._names)
        on = closed == self._closed_on
        word = "closed" if closed else "open"
        if starting or state.valve_closed != closed:
            events.append(Event("decision", self.config.id, f"valve {relay} {word}: {why}", now,
                                {"relay": relay, "on": on, "valve": word, "mode": state.mode,
                                 "flow_lph": state.track.flow_lph}))
        command = RelayCommand(relay, on, f"valve {word}: {why}")
        if state.valve_closed == closed and state.overrides is review.memory:
            return (command,), state
        return (command,), replace(state, valve_closed=closed, overrides=review.memory)
