"""Heating controller: weekly comfort/eco thermostat, frost protection, blind duty cycle, overrides.

Rules for one zone:
- thermometer usable: the setpoint is comfort_c inside a comfort period of the weekly schedule,
  eco_c outside (eco_c too while the wall clock is not set); the heater turns on below
  setpoint - hysteresis_c, off above setpoint + hysteresis_c, and keeps its last wish between.
- frost protection: below frost_c the heater is wanted on whatever else is asked, until the
  zone is back above frost_c + hysteresis_c. An "off" override is then refused (an "interlock"
  event, once per override) and the relay is listed in `decision.interlocks`.
- thermometer faulted or stale (older than stale_after_s): a blind frost-protection duty cycle,
  on for fallback_duty of every fallback_period_s (aligned on the epoch, so a restart keeps the
  phase); the last temperature is never used. "Off" overrides are refused then too.
- an active "on" override heats; an active "off" override stops heating unless refused above;
  an expired override is ignored and reported once.
- minimum on/off times apply to every change, frost included: frost turns the heater on as
  soon as the minimum off time allows. With `starting=True` everything is re-derived for now
  (no hysteresis memory, no minimum time: the relay went through its safe state).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.config_model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers import state_codec
from edge.controllers.base import Decision, Event, Job, Override, RelayCommand, SensorInput
from edge.controllers.heating_config import HeatingConfig, WeeklySchedule
from edge.controllers.timing import MinimumTimes, clock_plausible, epoch_s, fmt_duration, fmt_wait, step_switch

MODES: tuple[str, ...] = ("comfort", "eco", "frost", "fallback", "override")


@dataclass(frozen=True, slots=True)
class HeatingState:
    """What a heating controller remembers between calls (times in epoch seconds)."""

    #: "comfort", "eco", "frost", "fallback" or "override" ("" before the first decision).
    mode: str = ""
    #: Why the relay is as it is, in words.
    reason: str = "not decided yet"
    on: bool | None = None
    changed_at_s: float | None = None
    #: The thermostat's last wish (its memory inside the hysteresis band).
    demand: bool | None = None
    frost: bool = False
    fallback: bool = False
    temperature_c: float | None = None
    setpoint_c: float | None = None
    override_key: str = ""
    expired_overrides: tuple[str, ...] = ()
    refused_overrides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Need:
    """What the zone needs before overrides: wish, mode, reason, and the safety guard if any."""

    wish: bool
    mode: str
    reason: str
    guard: str = ""
    demand: bool | None = None
    setpoint_c: float | None = None


def thermostat(temperature_c: float, setpoint_c: float, hysteresis_c: float, previous: bool | None) -> bool:
    """Heat below setpoint - h, stop above setpoint + h, keep the previous wish between."""
    if temperature_c < setpoint_c - hysteresis_c:
        return True
    if temperature_c > setpoint_c + hysteresis_c:
        return False
    return previous if previous is not None else temperature_c < setpoint_c


class HeatingController:
    """Decides one heating zone's relay; pure."""

    def __init__(self, config: HeatingConfig, device: DeviceConfig) -> None:
        self.config = config
        self.id = config.id
        self._zone = ZoneInfo(device.timezone)
        self._times = MinimumTimes(config.min_on_s, config.min_off_s)

    @property
    def relays(self) -> tuple[str, ...]:
        """The zone's heater relay."""
        return (self.config.relay,)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The zone's temperature reading."""
        return (self.config.temperature_input,)

    @property
    def jobs(self) -> tuple[Job, ...]:
        """No calendar jobs: the schedule is evaluated on each call."""
        return ()

    def initial_state(self) -> HeatingState:
        """State of a zone never decided."""
        return HeatingState()

    def run_job(self, name: str, state: HeatingState, now: datetime) -> Decision[HeatingState]:
        """Heating has no jobs."""
        raise KeyError(f"heating controller {self.id!r} has no job {name!r}")

    def state_to_dict(self, state: HeatingState) -> dict[str, Any]:
        """JSON-ready state (with "mode" and "reason" for `hameau-edge status`)."""
        return state_codec.state_to_dict(state)

    def state_from_dict(self, data: Mapping[str, Any]) -> HeatingState:
        """Inverse of state_to_dict."""
        return state_codec.state_from_dict(HeatingState, data)

    def decide(
        self,
        state: HeatingState,
        inputs: Mapping[str, SensorInput],
        overrides: Mapping[str, Override],
        now: datetime,
        *,
        starting: bool = False,
        acks: frozenset[str] = frozenset(),
    ) -> Decision[HeatingState]:
        """Decide the zone's relay for `now` (see the module docstring for the rules)."""
        cfg = self.config
        now_s = epoch_s(now)
        temperature = self._temperature(inputs, now)
        fallback = temperature is None
        frost = False
        if temperature is None:
            need = self._duty_cycle(now_s)
        else:
            frost = temperature < cfg.frost_c or (
                state.frost and not starting and temperature < cfg.frost_c + cfg.hysteresis_c
            )
            need = self._thermostat(state, temperature, now, frost, starting)
        review = manual.review(
            cfg.relay, overrides, now, source=self.id, zone=self._zone,
            applied_key=state.override_key, expired_reported=state.expired_overrides,
        )
        events = list(review.events)
        wish, mode, reason = need.wish, need.mode, need.reason
        present = {manual.override_key(o) for o in overrides.values()}
        refused = tuple(k for k in state.refused_overrides if k in present)
        override = review.active
        if override is not None:
            text = manual.describe(override, self._zone, now)
            if override.on and not frost:
                wish, mode = True, "override"
                reason = f"{text} (thermometer faulted)" if fallback else text
            elif not override.on and need.guard:
                reason = f"{reason}; {text} refused"
                key = manual.override_key(override)
                if key not in refused:
                    refused = (*refused, key)
                    events.append(Event("interlock", self.id, f"{text} refused: {need.guard}", now,
                                        {"relay": cfg.relay, "on": False, "until": override.until.isoformat()}))
            elif not override.on:
                wish, mode, reason = False, "override", text
        step = step_switch(state.on, state.changed_at_s, wish, now_s, self._times, immediate=starting)
        if step.held:
            which = "on" if step.on else "off"
            reason = f"{reason}; held {which} for its minimum {which} time ({fmt_wait(step.wait_s)} left)"
        if fallback != state.fallback:
            events.append(self._fallback_event(fallback, now))
        if step.changed or starting:
            data = {"relay": cfg.relay, "on": step.on, "mode": mode, "temperature_c": temperature,
                    "setpoint_c": need.setpoint_c}
            events.append(Event("decision", self.id, reason, now, data))
        new_state = HeatingState(
            mode=mode,
            reason=reason,
            on=step.on,
            changed_at_s=step.changed_at_s,
            demand=need.demand,
            frost=frost,
            fallback=fallback,
            temperature_c=temperature,
            setpoint_c=need.setpoint_c,
            override_key=review.applied_key,
            expired_overrides=review.expired_reported,
            refused_overrides=refused,
        )
        interlocks = {cfg.relay: need.guard} if need.guard else {}
        return Decision(new_state, (RelayCommand(cfg.relay, step.on, reason),), tuple(events), interlocks)

    def _temperature(self, inputs: Mapping[str, SensorInput], now: datetime) -> float | None:
        reading = inputs.get(self.config.temperature_input)
        if reading is None or not reading.usable or reading.value is None:
            return None
        if reading.at is not None and (now - reading.at).total_seconds() > self.config.stale_after_s:
            return None
        return float(reading.value)

    def _thermostat(
        self, state: HeatingState, temperature: float, now: datetime, frost: bool, starting: bool
    ) -> _Need:
        cfg = self.config
        local = now.astimezone(self._zone)
        if clock_plausible(now):
            period = cfg.schedule.period_at(local)
            mode, setpoint = ("comfort", cfg.comfort_c) if period is not None else ("eco", cfg.eco_c)
            label = f"{mode} ({WeeklySchedule.describe(local, period)})"
        else:
            mode, setpoint, label = "eco", cfg.eco_c, "eco (wall clock not set)"
        previous = None if starting or state.fallback else state.demand
        demand = thermostat(temperature, setpoint, cfg.hysteresis_c, previous)
        low, high = setpoint - cfg.hysteresis_c, setpoint + cfg.hysteresis_c
        if frost:
            if temperature < cfg.frost_c:
                guard = f"frost protection: {temperature:.1f} °C below {cfg.frost_c:.1f} °C"
            else:
                guard = f"frost protection: {temperature:.1f} °C, heating up to {cfg.frost_c + cfg.hysteresis_c:.1f} °C"
            return _Need(True, "frost", guard, guard, demand, setpoint)
        if temperature < low:
            text = f"{label}: {temperature:.1f} °C below {low:.1f} °C"
        elif temperature > high:
            text = f"{label}: {temperature:.1f} °C above {high:.1f} °C"
        else:
            text = f"{label}: {temperature:.1f} °C within {low:.1f}-{high:.1f} °C, {'heating' if demand else 'off'}"
        return _Need(demand, mode, text, "", demand, setpoint)

    def _duty_cycle(self, now_s: float) -> _Need:
        cfg = self.config
        period_start = now_s - now_s % cfg.fallback_period_s
        on_until = period_start + cfg.fallback_duty * cfg.fallback_period_s
        on = now_s < on_until
        until = on_until if on and cfg.fallback_duty < 1 else period_start + cfg.fallback_period_s
        until_local = datetime.fromtimestamp(until, UTC).astimezone(self._zone).strftime("%H:%M")
        cycle = f"{cfg.fallback_duty * 100:.0f} % of {fmt_duration(cfg.fallback_period_s)}"
        guard = f"thermometer {self.config.thermometer} faulted: frost-protection duty cycle {cycle}"
        if cfg.fallback_duty >= 1:
            return _Need(True, "fallback", f"{guard} (always on)", guard)
        return _Need(on, "fallback", f"{guard} ({'on' if on else 'off'} until {until_local})", guard)

    def _fallback_event(self, active: bool, now: datetime) -> Event:
        cfg = self.config
        if active:
            cycle = f"{cfg.fallback_duty * 100:.0f} % of {fmt_duration(cfg.fallback_period_s)}"
            reason = f"thermometer {cfg.thermometer} faulted: frost-protection duty cycle {cycle}"
        else:
            reason = f"thermometer {cfg.thermometer} answers again: thermostat resumes"
        data = {"relay": cfg.relay, "active": active, "sensor": cfg.thermometer}
        return Event("fallback", self.id, reason, now, data)
