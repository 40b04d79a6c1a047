"""Street-lighting controller: lux with hysteresis, astronomical fallback, night cut-off, overrides.

Rules, first that applies wins, for one circuit:
1. an active technician override (an expired one is ignored and reported once);
2. the night cut-off window of the current night (or its dated exception): off;
3. the lux sensor: on once below `on_below_lx` for `confirm_s`, off once above `off_above_lx` for
   `confirm_s` (in between, or until confirmed, the last verdict holds);
4. lux sensor faulted (or none configured): the astronomical clock, on from sunset + offset to
   sunrise + offset;
5. wall clock not set (boot without RTC or NTP) and no lux: the relay's safe state.
The lux verdict is tracked on every call, even under an override or a cut-off, so that it is
ready when they end; while the sensor is faulted it follows the astronomical clock, so lux
control resumes from it without a jump. Every change then waits for the minimum on or off time.
With `starting=True` everything is re-derived for now: the lux verdict straight from the current
lux (the astronomical clock breaks a tie between the thresholds), and no minimum time applies
(the relay went through its safe state while the agent was down).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edge.config_model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers import state_codec
from edge.controllers.base import Decision, Event, Job, Override, RelayCommand, SensorInput
from edge.controllers.lighting_config import LightingConfig
from edge.controllers.sun import SunCalendar, SunVerdict
from edge.controllers.timing import (
    MinimumTimes,
    clock_plausible,
    condition_since,
    epoch_s,
    fmt_duration,
    fmt_wait,
    held_for,
    step_switch,
)

MODES: tuple[str, ...] = ("lux", "astronomical", "cut-off", "override", "safe")


@dataclass(frozen=True, slots=True)
class LightingState:
    """What a lighting controller remembers between calls (times in epoch seconds)."""

    #: "lux", "astronomical", "cut-off", "override" or "safe" ("" before the first decision).
    mode: str = ""
    #: Why the relay is as it is, in words.
    reason: str = "not decided yet"
    #: Last command (None: never commanded, or safe state).
    on: bool | None = None
    changed_at_s: float | None = None
    #: Confirmed lux verdict: dark (lights wanted) or not; None until first known.
    dark: bool | None = None
    verdict_reason: str = ""
    #: Since when the lux has been across the threshold that would flip the verdict.
    pending_since_s: float | None = None
    lux_faulted: bool = False
    override_key: str = ""
    expired_overrides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Verdict:
    dark: bool | None
    reason: str
    pending_since_s: float | None


def fmt_lx(value: float) -> str:
    """Illuminance as a technician reads it: '0.4', '18', '2400'."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


class LightingController:
    """Decides one street-lighting circuit's relay; pure apart from a cache of sun times."""

    def __init__(self, config: LightingConfig, device: DeviceConfig) -> None:
        self.config = config
        self.id = config.id
        self._sun = SunCalendar.for_device(device)
        self._zone = self._sun.zone
        self._times = MinimumTimes(config.min_on_s, config.min_off_s)

    @property
    def relays(self) -> tuple[str, ...]:
        """The circuit's relay."""
        return (self.config.relay,)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The lux reading, if the circuit has a lux sensor."""
        return () if self.config.lux_input is None else (self.config.lux_input,)

    @property
    def jobs(self) -> tuple[Job, ...]:
        """No calendar jobs: every rule is evaluated on each call."""
        return ()

    def initial_state(self) -> LightingState:
        """State of a circuit never decided."""
        return LightingState()

    def run_job(self, name: str, state: LightingState, now: datetime) -> Decision[LightingState]:
        """Lighting has no jobs."""
        raise KeyError(f"lighting controller {self.id!r} has no job {name!r}")

    def state_to_dict(self, state: LightingState) -> dict[str, Any]:
        """JSON-ready state (with "mode" and "reason" for `hameau-edge status`)."""
        return state_codec.state_to_dict(state)

    def state_from_dict(self, data: Mapping[str, Any]) -> LightingState:
        """Inverse of state_to_dict."""
        return state_codec.state_from_dict(LightingState, data)

    def decide(
        self,
        state: LightingState,
        inputs: Mapping[str, SensorInput],
        overrides: Mapping[str, Override],
        now: datetime,
        *,
        starting: bool = False,
        acks: frozenset[str] = frozenset(),
    ) -> Decision[LightingState]:
        """Decide the circuit's relay for `now` (see the module docstring for the rules)."""
        cfg = self.config
        now_s = epoch_s(now)
        plausible = clock_plausible(now)
        lux = self._lux(inputs)
        sun = (
            self._sun.verdict(now, sunset_offset_min=cfg.sunset_offset_min, sunrise_offset_min=cfg.sunrise_offset_min)
            if plausible
            else None
        )
        verdict = self._track(state, lux, sun, now_s, starting)
        review = manual.review(
            cfg.relay, overrides, now, source=self.id, zone=self._zone,
            applied_key=state.override_key, expired_reported=state.expired_overrides,
        )
        events = list(review.events)
        cutoff = cfg.cutoff.active_at(now.astimezone(self._zone)) if plausible else None
        if review.active is not None:
            wish, mode, reason = review.active.on, "override", manual.describe(review.active, self._zone, now)
        elif cutoff is not None:
            wish, mode, reason = False, "cut-off", cutoff.describe()
        elif lux is not None:
            wish, mode, reason = verdict.dark, "lux", self._lux_reason(verdict, lux, now_s)
        elif sun is not None:
            wish, mode, reason = sun.night, "astronomical", self._astro_reason(sun)
        else:
            wish, mode = None, "safe"
            reason = "wall clock not set and lux sensor faulted: relay to its safe state"
        step = step_switch(state.on, state.changed_at_s, wish, now_s, self._times, immediate=starting)
        if step.held:
            which = "on" if step.on else "off"
            reason = f"{reason}; held {which} for its minimum {which} time ({fmt_wait(step.wait_s)} left)"
        faulted = cfg.lux_sensor is not None and lux is None
        if faulted != state.lux_faulted:
            events.append(self._fallback_event(faulted, sun, now))
        if step.changed or starting:
            data: dict[str, Any] = {"relay": cfg.relay, "on": step.on, "mode": mode, "lux": lux}
            events.append(Event("decision", self.id, reason, now, data))
        new_state = LightingState(
            mode=mode,
            reason=reason,
            on=step.on,
            changed_at_s=step.changed_at_s,
            dark=verdict.dark,
            verdict_reason=verdict.reason,
            pending_since_s=verdict.pending_since_s,
            lux_faulted=faulted,
            override_key=review.applied_key,
            expired_overrides=review.expired_reported,
        )
        return Decision(new_state, (RelayCommand(cfg.relay, step.on, reason),), tuple(events), {})

    def _lux(self, inputs: Mapping[str, SensorInput]) -> float | None:
        name = self.config.lux_input
        reading = inputs.get(name) if name is not None else None
        if reading is None or not reading.usable or reading.value is None or reading.value < 0:
            return None
        return float(reading.value)

    def _track(
        self, state: LightingState, lux: float | None, sun: SunVerdict | None, now_s: float, starting: bool
    ) -> _Verdict:
        """The confirmed lux verdict after this reading."""
        cfg = self.config
        if lux is None:
            if sun is None:
                return _Verdict(state.dark, state.verdict_reason, None)
            word = "night" if sun.night else "day"
            return _Verdict(sun.night, f"{word} by the astronomical clock while the lux sensor was faulted", None)
        if starting or state.dark is None:
            if lux < cfg.on_below_lx:
                return _Verdict(True, f"lux {fmt_lx(lux)} lx below {cfg.on_below_lx:g} lx at start", None)
            if lux > cfg.off_above_lx:
                return _Verdict(False, f"lux {fmt_lx(lux)} lx above {cfg.off_above_lx:g} lx at start", None)
            between = f"lux {fmt_lx(lux)} lx between {cfg.on_below_lx:g} and {cfg.off_above_lx:g} lx at start"
            if sun is None:
                return _Verdict(True, f"{between}, wall clock not set: on", None)
            return _Verdict(sun.night, f"{between}, astronomical clock says {'night' if sun.night else 'day'}", None)
        if state.lux_faulted:
            # The sensor is back: the verdict the astronomical clock left stands, in lux words if they agree.
            if state.dark and lux < cfg.on_below_lx:
                return _Verdict(True, f"lux {fmt_lx(lux)} lx below {cfg.on_below_lx:g} lx (lux sensor back)", None)
            if not state.dark and lux > cfg.off_above_lx:
                return _Verdict(False, f"lux {fmt_lx(lux)} lx above {cfg.off_above_lx:g} lx (lux sensor back)", None)
        crossing = lux > cfg.off_above_lx if state.dark else lux < cfg.on_below_lx
        since = condition_since(state.pending_since_s, crossing, now_s)
        if crossing and held_for(since, now_s, cfg.confirm_s):
            assert since is not None
            if state.dark:
                text = f"lux {fmt_lx(lux)} lx above {cfg.off_above_lx:g} lx for {fmt_duration(now_s - since)}"
            else:
                text = f"lux {fmt_lx(lux)} lx below {cfg.on_below_lx:g} lx for {fmt_duration(now_s - since)}"
            return _Verdict(not state.dark, text, None)
        return _Verdict(state.dark, state.verdict_reason, since)

    def _lux_reason(self, verdict: _Verdict, lux: float, now_s: float) -> str:
        if verdict.pending_since_s is None:
            return verdict.reason
        cfg = self.config
        side = f"above {cfg.off_above_lx:g}" if verdict.dark else f"below {cfg.on_below_lx:g}"
        held = fmt_duration(now_s - verdict.pending_since_s)
        confirm = fmt_duration(cfg.confirm_s)
        return f"{verdict.reason}; lux {fmt_lx(lux)} lx {side} lx for {held}, confirming over {confirm}"

    def _astro_reason(self, sun: SunVerdict) -> str:
        prefix = "lux sensor faulted: astronomical clock" if self.config.lux_sensor else "astronomical clock"
        if sun.at is None:
            if sun.basis == "elevation":
                return f"{prefix}, sun {'below' if sun.night else 'above'} the horizon"
            return f"{prefix}, {sun.basis}"
        raw = (sun.at - timedelta(minutes=sun.offset_min)).astimezone(self._zone).strftime("%H:%M")
        offset = f"{sun.offset_min:+g} min"
        if not sun.night:
            return f"{prefix}, day until sunset {raw} {offset}"
        if sun.basis == "sunrise":
            return f"{prefix}, night until sunrise {raw} {offset}"
        return f"{prefix}, sunset {raw} {offset}"

    def _fallback_event(self, faulted: bool, sun: SunVerdict | None, now: datetime) -> Event:
        sensor = self.config.lux_sensor
        if not faulted:
            reason = f"lux sensor {sensor} answers again: lux control resumes"
        elif sun is None:
            reason = f"lux sensor {sensor} faulted and wall clock not set: relay to its safe state"
        else:
            reason = f"lux sensor {sensor} faulted: {self._astro_reason(sun).split(': ', 1)[1]}"
        data = {"relay": self.config.relay, "active": faulted, "sensor": sensor}
        return Event("fallback", self.id, reason, now, data)
