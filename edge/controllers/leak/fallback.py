"""A faulted leak controller's stand-in: the valve as its latched alarms say, nothing else.

It shares none of the controller's decision code: the valve stays closed while the last good state holds
a latched burst alarm that closed it (a burst latched and the valve closed; an override may not open
it), else a technician's active override holds, else the valve is open (the water supply is never cut
without a burst, nor shut again once the controller's own policy reopened it). No meter tracking, no
night analysis: the fault is reported meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers.base import FallbackDecision, RelayCommand
from edge.controllers.leak.config import LeakConfig
from edge.controllers.overrides import Override

BURST = "burst"


def closed_by_burst(state: Any) -> bool:
    """Whether a state holds a latched burst alarm and its valve closed (read defensively: the state comes from
    a faulted controller)."""
    alarms = getattr(state, "alarms", ())
    latched = isinstance(alarms, tuple) and any(getattr(a, "alarm_kind", None) == BURST for a in alarms)
    return latched and getattr(state, "valve_closed", None) is True


class LeakFallback:
    """One watch's valve from its last good state's latched burst alarm."""

    def __init__(self, config: LeakConfig, device: DeviceConfig) -> None:
        self.config = config
        self._zone = ZoneInfo(device.timezone)
        self._closed_on = config.valve_closed_when == "on"

    def decide(self, last_state: Any, overrides: Mapping[str, Override], now: datetime) -> FallbackDecision:
        """The valve's command (none without a valve), and the interlock a latched burst holds."""
        relay = self.config.valve_relay
        if relay is None:
            return FallbackDecision((), "no valve: leak checks paused")
        override = manual.holding(overrides, relay, now) if overrides else None
        if closed_by_burst(last_state):
            closed, why = True, f"burst alarm {self.config.id}/burst latched"
            interlocks = {relay: f"{why}: the valve stays closed until the alarm is acknowledged"}
        elif override is not None:
            closed = override.on == self._closed_on
            why = manual.describe(override, self._zone, now, ("open", "close") if self._closed_on else ("close", "open"))
            interlocks = {}
        else:
            closed, why, interlocks = False, "no burst latched: water supply open", {}
        reason = f"valve {'closed' if closed else 'open'}: {why}; leak checks paused"
        command = RelayCommand(relay, closed == self._closed_on, reason)
        return FallbackDecision((command,), reason, interlocks)
