"""The leak watch's shut-off valve: closed on a burst as its policy says (leak/policy.py), whatever a technician orders."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from edge.controllers import overrides as manual
from edge.controllers.base import RelayCommand, SensorInput
from edge.controllers.events import Event
from edge.controllers.leak import policy
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
        rules = config.policy
        self.policy = policy.PolicyParams(
            config.id, self.relay or "", rules.close, rules.reopen_after_min * 60.0, rules.hydrant_hold_min * 60.0,
            rules.hydrant_input, zone, config.burst_min * 60.0,
        )
        #: The key switch's reading, if one is wired.
        self.switch_key = None if rules.hydrant_input is None else f"{rules.hydrant_input}.{policy.ACTIVE_READING}"

    def observe(
        self, state: LeakState, inputs: Mapping[str, SensorInput], orders: Mapping[str, manual.Override],
        now: datetime, events: list[Event],
    ) -> LeakState:
        """Follow the hydrant inhibit's sources (the key switch, a technician's command) before the meter's sample."""
        if self.relay is None:
            return state
        switch = None
        if self.switch_key is not None:
            reading = inputs.get(self.switch_key)
            switch = None if reading is None or not reading.usable else bool(reading.value)
        found = policy.observe(state.policy, self.policy, switch, orders, now, events)
        return state if found is state.policy else replace(state, policy=found)

    def burst_note(self, state: LeakState, now: datetime) -> str:
        """What a burst raised now does to the valve, for the alarm's reason ("" without a valve)."""
        return "" if self.relay is None else policy.burst_note(state.policy, self.policy, now)

    def interlocks(self, state: LeakState) -> dict[str, str]:
        """The valve an override may not open while a burst alarm is latched, with why."""
        if self.relay is None or not state.latched("burst") or not policy.held_closed(state.policy, self.policy):
            return {}
        why = f"burst alarm {self.config.id}/burst latched: the valve stays closed until the alarm is acknowledged"
        ps, p = state.policy, self.policy
        if p.reopen_after_s > 0 and ps.confirmed_at is None and ps.closed_at is not None:
            at = datetime.fromtimestamp(ps.closed_at + p.reopen_after_s, self._zone)
            why += (f", or reopens by itself at {at:%H:%M} unless a technician confirms the closure "
                    f"(hameau-edge valve confirm {self.config.id})")
        return {self.relay: why}

    def command(
        self, state: LeakState, overrides: Mapping[str, manual.Override], now: datetime, starting: bool,
        events: list[Event],
    ) -> tuple[tuple[RelayCommand, ...], LeakState]:
        """The valve's command for now (none without a valve), and the state remembering it."""
        relay = self.relay
        if relay is None:
            return (), state
        burst = next((a for a in state.alarms if a.alarm_kind == "burst"), None)
        above = (state.track.above_since, state.track.last_at)
        found, closed, why = policy.valve(state.policy, self.policy, None if burst is None else burst.raised_at,
                                          above, overrides, now, events)
        if found is not state.policy:
            state = replace(state, policy=found)
        interlock = self.interlocks(state).get(relay, "")

        def refuse(override: manual.Override) -> str:
            return interlock if interlock and override.on != self._closed_on else ""

        review = manual.review(
            relay, overrides, now, source=self.config.id, zone=self._zone, memory=state.overrides,
            interlock=refuse, names=self._names,
        )
        events.extend(review.events)
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
