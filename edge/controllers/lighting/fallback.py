"""A faulted lighting controller's stand-in: the astronomical clock and the night cut-off, nothing else.

It shares none of the controller's decision code (no lux, no hysteresis, no minimum times), so a bug
there cannot reach it: a technician's active override first, then the cut-off window of the night
(off), then night between sunset + offset and sunrise + offset (on); with the wall clock not set, the
relay's safe state.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers.base import FallbackDecision, RelayCommand
from edge.controllers.lighting.config import LightingConfig
from edge.controllers.overrides import Override
from edge.controllers.sun import SunCalendar
from edge.controllers.timing import CLOCK_PLAUSIBLE_FROM


class LightingFallback:
    """One circuit's relay from the sun and the cut-off schedule."""

    def __init__(self, config: LightingConfig, device: DeviceConfig) -> None:
        self.config = config
        self._sun = SunCalendar.for_device(device)
        self._zone = ZoneInfo(device.timezone)

    def decide(self, last_state: Any, overrides: Mapping[str, Override], now: datetime) -> FallbackDecision:
        """The relay for `now` (the last state is not needed: the sun and the schedule say it all)."""
        on, reason = self.wish(overrides, now)
        return FallbackDecision((RelayCommand(self.config.relay, on, reason),), reason)

    def wish(self, overrides: Mapping[str, Override], now: datetime) -> tuple[bool | None, str]:
        """On, off or the safe state (None), and why."""
        cfg = self.config
        override = manual.holding(overrides, cfg.relay, now) if overrides else None
        if override is not None:
            return override.on, manual.describe(override, self._zone, now)
        if now < CLOCK_PLAUSIBLE_FROM:
            return None, "wall clock not set: relay to its safe state"
        cutoff = cfg.cutoff.active_at(now.astimezone(self._zone))
        if cutoff is not None:
            return False, cutoff.describe()
        verdict = self._sun.verdict(
            now, sunset_offset_min=cfg.sunset_offset_min, sunrise_offset_min=cfg.sunrise_offset_min
        )
        if verdict.at is None:
            return verdict.night, f"astronomical clock: {verdict.basis}"
        raw = (verdict.at - timedelta(minutes=verdict.offset_min)).astimezone(self._zone).strftime("%H:%M")
        sun = f"{verdict.basis} {raw} {verdict.offset_min:+g} min"
        if not verdict.night:
            return False, f"astronomical clock: day until {sun}"
        if verdict.basis == "sunrise":
            return True, f"astronomical clock: night until {sun}"
        return True, f"astronomical clock: night since {sun}"
