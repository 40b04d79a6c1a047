"""Heating controller: weekly comfort/eco thermostat, frost protection, blind duty cycle, overrides.

Rules for one zone:
- thermometer usable: the setpoint is comfort_c inside a comfort period of the weekly schedule,
  eco_c outside (eco_c too while the wall clock is not set); the heater turns on below
  setpoint - hysteresis_c, off above setpoint + hysteresis_c, and keeps its last wish between.
- optimum start ("preheat"): before a comfort period the setpoint is comfort_c already, from the
  time the zone needs to warm from its temperature to comfort_c at its learned heating rate (the
  prior preheat_rate_c_per_h until a run was measured), at most max_preheat_min before the period.
  Once started, a preheat holds until the period begins (a restart included); the thermostat
  starts afresh with it, so a zone just under comfort_c heats too. Only with a usable
  thermometer and a set wall clock; the rate is learned from every heating run (heating_preheat).
- frost protection: below frost_c the heater is wanted on whatever else is asked, until the
  zone is back above frost_c + hysteresis_c. An "off" override is then refused (an "interlock"
  event, once per override) and the relay is listed in `decision.interlocks`.
- two thermometers (second_thermometer): frost protection follows the lower, the thermostat the main
  one, and a disagreement beyond disagree_margin_c is a fault (thermometers.py).
- every thermometer faulted or stale (older than stale_after_s): a blind frost-protection duty cycle,
  on for a share of every fallback_period_s (aligned on the epoch, so a restart keeps the phase) sized
  to hold frost_c + frost_margin_c from the learned heater lift and the outdoor reading (frost_duty.py,
  losses.py); the last temperature is never used. "Off" overrides are refused then too.
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

from edge.config.model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers.base import Decision, SensorInput
from edge.controllers.events import Event
from edge.controllers.heating.calendar import HeatingCalendar, Moment
from edge.controllers.heating.config import TEMPERATURE_READING, HeatingConfig
from edge.controllers.heating.frost_duty import FrostDuty, cycle_on_s, frost_duty
from edge.controllers.heating.losses import Lift, LossWindow, follow_lift
from edge.controllers.heating.preheat import HeatingRun, follow_run, preheat_starts_s
from edge.controllers.heating.thermometers import zone_temperature
from edge.controllers.overrides import Override
from edge.controllers.relay_controller import RelayController
from edge.controllers.state_codec import StateCodec
from edge.controllers.timing import (
    CLOCK_PLAUSIBLE_FROM,
    MinimumTimes,
    epoch_s,
    fmt_duration,
)

MODES: tuple[str, ...] = ("comfort", "eco", "preheat", "frost", "fallback", "override")
CLOCK_PLAUSIBLE_S = CLOCK_PLAUSIBLE_FROM.timestamp()


@dataclass(frozen=True, slots=True)
class HeatingState:
    """What a heating controller remembers between calls (times in epoch seconds)."""

    #: "comfort", "eco", "preheat", "frost", "fallback" or "override" ("" before the first decision).
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
    #: Learned heating rate (°C per hour of heating; None: nothing learned yet) and its sample count.
    heating_rate_c_per_h: float | None = None
    rate_samples: int = 0
    #: The heating run being measured: since when, from which temperature.
    run_since_s: float | None = None
    run_from_c: float | None = None
    #: Start of the comfort period being preheated for, and when the preheat began.
    preheat_for_s: float | None = None
    preheat_since_s: float | None = None
    #: Learned heater lift (K above outdoors at full power) and its samples; the window being measured.
    lift_k: float | None = None
    lift_samples: int = 0
    loss_since_s: float | None = None
    loss_from_c: float | None = None
    loss_last_s: float | None = None
    loss_heat_s: float = 0.0
    loss_excess_ks: float = 0.0
    #: Two thermometers: since when they differ beyond the margin, and whether that fault is raised.
    disagree_since_s: float | None = None
    disagreeing: bool = False


@dataclass(frozen=True, slots=True)
class _Need:
    """What the zone needs before overrides: wish, mode, reason, and the safety guard if any."""

    wish: bool
    mode: str
    reason: str
    guard: str = ""
    demand: bool | None = None
    setpoint_c: float | None = None


@dataclass(frozen=True, slots=True)
class _Preheat:
    """A preheat holding now: for which period, since when."""

    period_start_s: float
    since_s: float
    name: str
    new: bool


def thermostat(temperature_c: float, setpoint_c: float, hysteresis_c: float, previous: bool | None) -> bool:
    """Heat below setpoint - h, stop above setpoint + h, keep the previous wish between."""
    if temperature_c < setpoint_c - hysteresis_c:
        return True
    if temperature_c > setpoint_c + hysteresis_c:
        return False
    return previous if previous is not None else temperature_c < setpoint_c


class HeatingController(RelayController[HeatingState]):
    """Decides one heating zone's relay; pure apart from caches of schedule lookups and of its last answer."""

    codec = StateCodec(HeatingState)

    def __init__(self, config: HeatingConfig, device: DeviceConfig) -> None:
        super().__init__(
            config.id, config.relay, config.temperature_input, MinimumTimes(config.min_on_s, config.min_off_s)
        )
        self.config = config
        self._thermometer_inputs = tuple(f"{t}.{TEMPERATURE_READING}" for t in config.thermometers)
        self._outdoor_input = (
            None if config.outdoor_thermometer is None else f"{config.outdoor_thermometer}.{TEMPERATURE_READING}"
        )
        self._zone = ZoneInfo(device.timezone)
        self._calendar = HeatingCalendar(config.schedule, self._zone)
        self._max_lead_s = config.max_preheat_min * 60.0
        self._need_key: tuple[Any, ...] | None = None
        self._need: _Need | None = None

    @property
    def inputs(self) -> tuple[str, ...]:
        """The zone's thermometers, then the outdoor one if any."""
        outdoor = () if self._outdoor_input is None else (self._outdoor_input,)
        return (*self._thermometer_inputs, *outdoor)

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
        values = tuple(self._temperature(inputs.get(key), now) for key in self._thermometer_inputs)
        zone = zone_temperature(cfg, values, state.disagree_since_s, state.disagreeing, now, now_s)
        temperature, lowest = zone.thermostat_c, zone.frost_c
        outdoor = None if self._outdoor_input is None else self._temperature(inputs.get(self._outdoor_input), now)
        fallback = temperature is None or lowest is None
        frost = False
        run = HeatingRun(state.heating_rate_c_per_h, state.rate_samples, state.run_since_s, state.run_from_c)
        window = LossWindow(state.loss_since_s, state.loss_from_c, state.loss_last_s, state.loss_heat_s,
                            state.loss_excess_ks)
        lift = Lift(state.lift_k, state.lift_samples, window)
        preheat: _Preheat | None = None
        if temperature is None or lowest is None:
            need = self._duty_cycle(now_s, frost_duty(
                frost_c=cfg.frost_c, margin_c=cfg.frost_margin_c, lift_k=lift.lift_k, outdoor_c=outdoor,
                design_outdoor_c=cfg.design_outdoor_c, frost_only=cfg.frost_only, fallback_duty=cfg.fallback_duty,
            ))
        else:
            frost = lowest < cfg.frost_c or (
                state.frost and not starting and lowest < cfg.frost_c + cfg.hysteresis_c
            )
            need, preheat = self._thermostat(state, run, temperature, now, now_s, frost, starting, lowest)
        guard = need.guard

        def interlock(override: Override) -> str:
            return guard if guard and not override.on else ""

        review = manual.review(
            cfg.relay, overrides, now, source=self.id, zone=self._zone, memory=self.memory(state), interlock=interlock
        )
        events = list(review.events)
        if zone.event is not None:
            events.append(zone.event)
        wish, mode, reason = need.wish, need.mode, need.reason
        if review.active is not None:
            text = manual.describe(review.active, self._zone, now)
            if not review.active.on:
                wish, mode, reason = False, "override", text
            elif not frost:
                wish, mode = True, "override"
                reason = f"{text} (thermometer faulted)" if fallback else text
        elif review.refused is not None:
            reason = f"{reason}; {manual.describe(review.refused, self._zone, now)} refused"
        on, changed_at_s, changed, reason = self.switch(state, wish, reason, now_s, starting)
        if fallback != state.fallback:
            events.append(self._fallback_event(fallback, now, guard))
        if changed or starting:
            events.append(self.decision_event(
                now, reason, on=on, mode=mode, temperature_c=temperature, setpoint_c=need.setpoint_c
            ))
        new_run = follow_run(run, heating=on is True, temperature_c=temperature, now_s=now_s, restarted=starting)
        new_lift = follow_lift(lift, heated=state.on is True, temperature_c=lowest, outdoor_c=outdoor, now_s=now_s,
                               restarted=starting)
        lw = new_lift.window
        preheat_for_s = preheat_since_s = None
        if preheat is not None:
            preheat_for_s, preheat_since_s = preheat.period_start_s, preheat.since_s
        memory = review.memory
        new_state = HeatingState(
            mode, reason, on, changed_at_s, need.demand, frost, fallback, temperature, need.setpoint_c,
            memory.applied, memory.expired, memory.refused,
            new_run.rate_c_per_h, new_run.samples, new_run.since_s, new_run.from_c,
            preheat_for_s, preheat_since_s,
            new_lift.lift_k, new_lift.samples, lw.since_s, lw.from_c, lw.last_s, lw.heat_s, lw.excess_ks,
            zone.disagree_since_s, zone.disagreeing,
        )
        return self.settle(state, new_state, events, guard)

    def _temperature(self, reading: SensorInput | None, now: datetime) -> float | None:
        if reading is None or not reading.healthy or reading.value is None:
            return None
        age_s = reading.age(now)
        if age_s is not None and age_s > self.config.stale_after_s:
            return None
        return float(reading.value)

    def _preheat(self, state: HeatingState, run: HeatingRun, temperature: float, moment: Moment, now_s: float
                 ) -> _Preheat | None:
        """The preheat holding now, if the next comfort period is near enough for this zone to start heating."""
        target = self._calendar.next_start(moment, now_s) if self._max_lead_s > 0 else None
        if target is None or target[0] - now_s > self._max_lead_s:
            return None
        start_s, name = target
        if state.preheat_for_s == start_s:
            since_s = state.preheat_since_s if state.preheat_since_s is not None else now_s
            return _Preheat(start_s, min(since_s, now_s), name, False)
        cfg = self.config
        rate = run.rate_c_per_h if run.rate_c_per_h is not None else cfg.preheat_rate_c_per_h
        begin_s = preheat_starts_s(start_s, temperature, cfg.comfort_c, rate, self._max_lead_s)
        if begin_s is None or now_s < begin_s:
            return None
        return _Preheat(start_s, now_s, name, True)

    def _thermostat(
        self,
        state: HeatingState,
        run: HeatingRun,
        temperature: float,
        now: datetime,
        now_s: float,
        frost: bool,
        starting: bool,
        lowest: float,
    ) -> tuple[_Need, _Preheat | None]:
        cfg = self.config
        preheat = None
        if now_s >= CLOCK_PLAUSIBLE_S:
            moment = self._calendar.at(now, now_s)
            if moment.index is not None:
                mode, setpoint, label = "comfort", cfg.comfort_c, moment.plan.labels[moment.index]
            else:
                preheat = self._preheat(state, run, temperature, moment, now_s)
                if preheat is not None:
                    mode, setpoint, label = "preheat", cfg.comfort_c, preheat.name
                else:
                    mode, setpoint, label = "eco", cfg.eco_c, moment.plan.eco_label
        else:
            mode, setpoint, label = "eco", cfg.eco_c, "eco (wall clock not set)"
        fresh = starting or state.fallback or (preheat is not None and preheat.new)
        previous = None if fresh else state.demand
        demand = thermostat(temperature, setpoint, cfg.hysteresis_c, previous)
        since_s = preheat.since_s if preheat is not None else None
        key = (label, setpoint, temperature, demand, frost, since_s, run.rate_c_per_h, lowest)
        if key != self._need_key or self._need is None:
            self._need = self._need_for(mode, label, setpoint, temperature, demand, frost, since_s, run, lowest)
            self._need_key = key
        return self._need, preheat

    def _need_for(
        self,
        mode: str,
        label: str,
        setpoint: float,
        temperature: float,
        demand: bool,
        frost: bool,
        since_s: float | None,
        run: HeatingRun,
        lowest: float,
    ) -> _Need:
        cfg = self.config
        low, high = setpoint - cfg.hysteresis_c, setpoint + cfg.hysteresis_c
        if frost:
            if lowest < cfg.frost_c:
                guard = f"frost protection: {lowest:.1f} °C below {cfg.frost_c:.1f} °C"
            else:
                guard = f"frost protection: {lowest:.1f} °C, heating up to {cfg.frost_c + cfg.hysteresis_c:.1f} °C"
            return _Need(True, "frost", guard, guard, demand, setpoint)
        if since_s is not None:
            started = datetime.fromtimestamp(since_s, UTC).astimezone(self._zone).strftime("%H:%M")
            if demand:
                rate = run.rate_c_per_h if run.rate_c_per_h is not None else cfg.preheat_rate_c_per_h
                learned = "" if run.rate_c_per_h is not None else " (not learned yet)"
                text = (f"preheating for {label}: {temperature:.1f} °C -> {setpoint:.1f} °C at {rate:.1f} °C/h"
                        f"{learned}, started {started}")
                return _Need(True, mode, text, "", demand, setpoint)
            label = f"preheating for {label} (started {started})"
        if temperature < low:
            text = f"{label}: {temperature:.1f} °C below {low:.1f} °C"
        elif temperature > high:
            text = f"{label}: {temperature:.1f} °C above {high:.1f} °C"
        else:
            text = f"{label}: {temperature:.1f} °C within {low:.1f}-{high:.1f} °C, {'heating' if demand else 'off'}"
        return _Need(demand, mode, text, "", demand, setpoint)

    def _duty_cycle(self, now_s: float, duty: FrostDuty) -> _Need:
        cfg = self.config
        period_s = cfg.fallback_period_s
        on_s = cycle_on_s(duty.duty, period_s, cfg.min_on_s, cfg.min_off_s)
        period_start = now_s - now_s % period_s
        on_until = period_start + on_s
        on = now_s < on_until
        key = ("fallback", period_start, on, duty)
        if key == self._need_key and self._need is not None:
            return self._need
        until = on_until if on and on_s < period_s else period_start + period_s
        until_local = datetime.fromtimestamp(until, UTC).astimezone(self._zone).strftime("%H:%M")
        cycle = f"{on_s / period_s * 100:.0f} % of {fmt_duration(period_s)}"
        names = " and ".join(cfg.thermometers)
        guard = f"thermometer {names} faulted: frost-protection duty cycle {cycle}"
        if on_s >= period_s:
            need = _Need(True, "fallback", f"{guard} (always on; {duty.why})", guard)
        else:
            need = _Need(on, "fallback", f"{guard} ({'on' if on else 'off'} until {until_local}; {duty.why})", guard)
        self._need_key, self._need = key, need
        return need

    def _fallback_event(self, active: bool, now: datetime, guard: str) -> Event:
        cfg = self.config
        names = " and ".join(cfg.thermometers)
        if active:
            reason = guard
        else:
            reason = f"thermometer {names} answers again: thermostat resumes"
        data = {"relay": cfg.relay, "active": active, "sensor": cfg.thermometer}
        return Event("fallback", self.id, reason, now, data)

