"""A faulted heating controller's stand-in: the blind frost-protection duty cycle, nothing else.

It shares none of the controller's decision code (no thermostat, schedule, preheat or minimum
times): the heater is on for the blind frost-protection duty (frost_duty.py: from the heater lift the
last good state learned, against the coldest credible outdoor temperature; full power for a frost-only
zone with nothing learned, else `fallback_duty`) of every `fallback_period_s`, aligned on the epoch as
the controller's own thermometer fallback is, so both keep one phase. An "on" override is followed
(more heat is safe); an "off" one is refused while it holds (the relay is interlocked).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers.base import FallbackDecision, RelayCommand
from edge.controllers.heating.config import HeatingConfig
from edge.controllers.heating.frost_duty import frost_duty
from edge.controllers.overrides import Override


def duty_on(now_s: float, duty: float, period_s: float) -> bool:
    """Whether the duty cycle heats at epoch second `now_s`: the first `duty` of each period."""
    return duty >= 1 or now_s % period_s < duty * period_s


def learned_lift_k(state: Any) -> float | None:
    """The heater lift a faulted controller's last state learned, if it is a plausible number (read defensively)."""
    lift_k = getattr(state, "lift_k", None)
    if isinstance(lift_k, (int, float)) and not isinstance(lift_k, bool) and 0 < lift_k < 1000:
        return float(lift_k)
    return None


class HeatingFallback:
    """One zone's heater on the frost-protection duty cycle."""

    def __init__(self, config: HeatingConfig, device: DeviceConfig) -> None:
        self.config = config
        self._zone = ZoneInfo(device.timezone)

    def decide(self, last_state: Any, overrides: Mapping[str, Override], now: datetime) -> FallbackDecision:
        """The heater for `now` (the last state is trusted for its learned lift only: the duty cycle is blind)."""
        cfg = self.config
        now_s = now.timestamp()
        need = frost_duty(
            frost_c=cfg.frost_c, margin_c=cfg.frost_margin_c, lift_k=learned_lift_k(last_state), outdoor_c=None,
            design_outdoor_c=cfg.design_outdoor_c, frost_only=cfg.frost_only, fallback_duty=cfg.fallback_duty,
        )
        period_s, duty = cfg.fallback_period_s, need.duty
        on = duty_on(now_s, duty, period_s)
        start_s = now_s - now_s % period_s
        until_s = start_s + (duty * period_s if on and duty < 1 else period_s)
        until = datetime.fromtimestamp(until_s, UTC).astimezone(self._zone).strftime("%H:%M")
        cycle = f"frost-protection duty cycle {duty * 100:.0f} % of {period_s / 60:.0f} min ({need.why})"
        reason = f"{cycle} ({'always on' if duty >= 1 else ('on' if on else 'off') + ' until ' + until})"
        guard = f"controller {cfg.id} faulted: {cycle}"
        override = manual.holding(overrides, cfg.relay, now) if overrides else None
        if override is not None and override.on:
            on, reason = True, manual.describe(override, self._zone, now)
        elif override is not None:
            reason = f"{reason}; {manual.describe(override, self._zone, now)} refused"
        return FallbackDecision((RelayCommand(cfg.relay, on, reason),), reason, {cfg.relay: guard})
