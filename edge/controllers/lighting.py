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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from edge.config_model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers import state_codec
from edge.controllers.base import Decision, Event, Job, Override, RelayCommand, SensorInput
from edge.controllers.lighting_config import ActiveCutoff, LightingConfig
from edge.controllers.sun import SunCalendar, SunVerdict
from edge.controllers.timing import (
    CLOCK_PLAUSIBLE_FROM,
    SECONDS_PER_DAY,
    DayCache,
    LocalDay,
    MinimumTimes,
    condition_since,
    epoch_s,
    fmt_duration,
    fmt_wait,
    held_for,
    step_switch,
)

MODES: tuple[str, ...] = ("lux", "astronomical", "cut-off", "override", "safe")
CLOCK_PLAUSIBLE_S = CLOCK_PLAUSIBLE_FROM.timestamp()


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


@dataclass(frozen=True, slots=True)
class _Day:
    """One local date's rules, worked out once: cut-off windows and the astronomical clock's verdicts."""

    #: Cut-off windows reaching into this day, as seconds since its midnight, in the order they win
    #: (None on a clock-change day: then every call asks the schedule).
    cutoffs: tuple[tuple[float, float, ActiveCutoff, str], ...] | None
    #: The astronomical verdict before sunrise, by day and after sunset, with its words; and the
    #: two sun times (infinite on polar days). None on the edge of a polar season (every call asks the sun).
    sun: tuple[float, float, tuple[SunVerdict, str], tuple[SunVerdict, str], tuple[SunVerdict, str]] | None


def fmt_lx(value: float) -> str:
    """Illuminance as a technician reads it: '0.4', '18', '2400'."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


class LightingController:
    """Decides one street-lighting circuit's relay; pure apart from caches of daily rules and of its last answer."""

    def __init__(self, config: LightingConfig, device: DeviceConfig) -> None:
        self.config = config
        self.id = config.id
        self._sun = SunCalendar.for_device(device)
        self._zone = self._sun.zone
        self._times = MinimumTimes(config.min_on_s, config.min_off_s)
        self._days: DayCache[_Day] = DayCache(self._zone, self._day)
        self._quiet_for: LightingState | None = None
        self._quiet: Decision[LightingState] | None = None
        self._input = config.lux_input

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
        return _CODEC.to_dict(state)

    def state_from_dict(self, data: Mapping[str, Any]) -> LightingState:
        """Inverse of state_to_dict."""
        return _CODEC.from_dict(data)

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
        lux = self._lux(inputs)
        day: LocalDay | None = None
        rules: _Day | None = None
        sun: SunVerdict | None = None
        sun_text = ""
        if now_s >= CLOCK_PLAUSIBLE_S:
            day, rules = self._days.at(now, now_s)
            if rules.sun is not None:
                sunrise_s, sunset_s, before, daytime, after = rules.sun
                sun, sun_text = before if now_s < sunrise_s else after if now_s >= sunset_s else daytime
            else:
                sun = self._sun.verdict(
                    now, sunset_offset_min=cfg.sunset_offset_min, sunrise_offset_min=cfg.sunrise_offset_min
                )
                sun_text = self._astro_reason(sun)
        verdict = self._track(state, lux, sun, now_s, starting)
        review = manual.review(
            cfg.relay, overrides, now, source=self.id, zone=self._zone,
            applied_key=state.override_key, expired_reported=state.expired_overrides,
        )
        events = list(review.events)
        cutoff = self._cutoff(now, now_s, day, rules) if review.active is None and rules is not None else None
        if review.active is not None:
            wish, mode, reason = review.active.on, "override", manual.describe(review.active, self._zone, now)
        elif cutoff is not None:
            wish, mode, reason = False, "cut-off", cutoff
        elif lux is not None:
            wish, mode, reason = verdict.dark, "lux", self._lux_reason(verdict, lux, now_s)
        elif sun is not None:
            wish, mode, reason = sun.night, "astronomical", sun_text
        else:
            wish, mode = None, "safe"
            reason = "wall clock not set and lux sensor faulted: relay to its safe state"
        on, changed_at_s = state.on, state.changed_at_s
        changed = False
        if starting or wish != on or changed_at_s is None or changed_at_s > now_s:
            step = step_switch(on, changed_at_s, wish, now_s, self._times, immediate=starting)
            on, changed_at_s, changed = step.on, step.changed_at_s, step.changed
            if step.held:
                which = "on" if step.on else "off"
                reason = f"{reason}; held {which} for its minimum {which} time ({fmt_wait(step.wait_s)} left)"
        faulted = cfg.lux_sensor is not None and lux is None
        if faulted != state.lux_faulted:
            events.append(self._fallback_event(faulted, sun, now))
        if changed or starting:
            data: dict[str, Any] = {"relay": cfg.relay, "on": on, "mode": mode, "lux": lux}
            events.append(Event("decision", self.id, reason, now, data))
        if (
            not events and reason == state.reason and on == state.on and changed_at_s == state.changed_at_s
            and mode == state.mode and verdict.dark == state.dark and verdict.reason == state.verdict_reason
            and verdict.pending_since_s == state.pending_since_s and faulted == state.lux_faulted
            and review.applied_key == state.override_key and review.expired_reported == state.expired_overrides
        ):
            # Nothing changed: the same state, and the same quiet decision as last time.
            if self._quiet_for is not state or self._quiet is None:
                self._quiet = Decision(state, (RelayCommand(cfg.relay, state.on, state.reason),), (), {})
                self._quiet_for = state
            return self._quiet
        new_state = LightingState(
            mode, reason, on, changed_at_s, verdict.dark, verdict.reason, verdict.pending_since_s, faulted,
            review.applied_key, review.expired_reported,
        )
        return Decision(new_state, (RelayCommand(cfg.relay, on, reason),), tuple(events), {})

    def _day(self, day: LocalDay) -> _Day:
        """The cut-off windows and sun verdicts of one local date."""
        cfg = self.config
        cutoffs: list[tuple[float, float, ActiveCutoff, str]] | None = None
        if day.uniform:
            cutoffs = []
            midnight = datetime.combine(day.date, time(0))
            for days_back in (0, 1, 2):
                night = day.date - timedelta(days=days_back)
                window, exception = cfg.cutoff.window_for(night)
                if window is None:
                    continue
                start, end = window.bounds(night)
                low_s, high_s = (start - midnight).total_seconds(), (end - midnight).total_seconds()
                if high_s > 0 and low_s < SECONDS_PER_DAY:
                    active = ActiveCutoff(window, night, exception)
                    cutoffs.append((low_s, high_s, active, active.describe()))
        times = self._sun.times(day.date)
        sun = None
        # The verdicts SunCalendar.verdict gives on this date, worked out once.
        if times.polar is not None:
            polar = SunVerdict(times.polar == "night", f"polar {times.polar}", None)
            sun = (math.inf, math.inf, *((polar, self._astro_reason(polar)),) * 3)
        elif times.sunrise is not None and times.sunset is not None:
            sunrise = times.sunrise + timedelta(minutes=cfg.sunrise_offset_min)
            sunset = times.sunset + timedelta(minutes=cfg.sunset_offset_min)
            verdicts = (
                SunVerdict(True, "sunrise", sunrise, cfg.sunrise_offset_min),
                SunVerdict(False, "sunset", sunset, cfg.sunset_offset_min),
                SunVerdict(True, "sunset", sunset, cfg.sunset_offset_min),
            )
            before, daytime, after = ((v, self._astro_reason(v)) for v in verdicts)
            sun = (sunrise.timestamp(), sunset.timestamp(), before, daytime, after)
        return _Day(tuple(cutoffs) if cutoffs is not None else None, sun)

    def _cutoff(self, now: datetime, now_s: float, day: LocalDay | None, rules: _Day) -> str | None:
        """The cut-off holding now, in words (None: none)."""
        if rules.cutoffs is None or day is None:
            active = self.config.cutoff.active_at(now.astimezone(self._zone))
            return active.describe() if active is not None else None
        elapsed_s = now_s - day.start_s
        for low_s, high_s, _, text in rules.cutoffs:
            if low_s <= elapsed_s < high_s:
                return text
        return None

    def _lux(self, inputs: Mapping[str, SensorInput]) -> float | None:
        name = self._input
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


_CODEC = state_codec.StateCodec(LightingState)
