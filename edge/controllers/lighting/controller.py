"""Street-lighting controller: lux with hysteresis, astronomical fallback, night cut-off, overrides.

Rules, first that applies wins, for one circuit:
1. an active technician override (an expired one is ignored and reported once);
2. the night cut-off window of the current night (or its dated exception): off;
3. the lux sensor: on once below `on_below_lx` for `confirm_s`, off once above `off_above_lx` for
   `confirm_s` (in between, or until confirmed, the last verdict holds);
4. lux sensor faulted, not believed (see trust.py) or none configured: the astronomical clock, on
   from sunset + offset to sunrise + offset;
5. wall clock not set (boot without RTC or NTP) and no lux: the relay's safe state.
The lux verdict is tracked on every call, even under an override or a cut-off, so that it is
ready when they end; while the sensor is faulted it follows the astronomical clock, so lux
control resumes from it without a jump. A reading that contradicts the sun is not acted on while
it is watched (the verdict holds), and the circuit's own lamps' light is taken off the readings.
Every change then waits for the minimum on or off time.
With `starting=True` everything is re-derived for now: the lux verdict straight from the current
lux (the astronomical clock breaks a tie between the thresholds), and no minimum time applies
(the relay went through its safe state while the agent was down).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime, time, timedelta

from astral import Observer

from edge.config.model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers.base import Decision, SensorInput
from edge.controllers.events import Event
from edge.controllers.lighting.config import ActiveCutoff, LightingConfig
from edge.controllers.lighting.trust import LuxTrust, SunWindows, sun_windows, switching
from edge.controllers.lighting.watch import (
    TRUST_FIELDS,
    Watched,
    trust_of,
    trust_values,
    watch,
)
from edge.controllers.overrides import Override
from edge.controllers.relay_controller import RelayController
from edge.controllers.state_codec import StateCodec
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
    held_for,
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
    refused_overrides: tuple[str, ...] = ()
    #: The lux sensor's trust (trust.LuxTrust, flat): a contradiction watched since when, why it is not
    #: believed, the sunrise or sunset being watched, its own lamps' light.
    suspect: str = ""
    suspect_since_s: float | None = None
    distrust: str = ""
    distrust_kind: str = ""
    window_start_s: float | None = None
    window_end_s: float | None = None
    window_lo: float | None = None
    window_hi: float | None = None
    frozen_lo: float | None = None
    frozen_hi: float | None = None
    self_lit_lx: float | None = None
    before_switch_lx: float | None = None
    switched_at_s: float | None = None


assert tuple(f.name for f in fields(LightingState))[-len(TRUST_FIELDS):] == TRUST_FIELDS


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
    #: When the sun is high enough for daylight, low enough for night, and its sunrise and sunset.
    windows: SunWindows | None = None


def fmt_lx(value: float) -> str:
    """Illuminance as a technician reads it: '0.4', '18', '2400'."""
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


class LightingController(RelayController[LightingState]):
    """Decides one street-lighting circuit's relay; pure apart from caches of daily rules and of its last answer."""

    codec = StateCodec(LightingState)

    def __init__(self, config: LightingConfig, device: DeviceConfig) -> None:
        super().__init__(config.id, config.relay, config.lux_input, MinimumTimes(config.min_on_s, config.min_off_s))
        self.config = config
        self._sun = SunCalendar.for_device(device)
        self._zone = self._sun.zone
        self._days: DayCache[_Day] = DayCache(self._zone, self._day)
        self._observer = Observer(latitude=device.latitude, longitude=device.longitude)
        #: The last state given and the trust it holds (not rebuilt from the state on every call).
        self._trusted: tuple[LightingState, LuxTrust] | None = None

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
        reading = self.reading(inputs)
        raw_lx = self._lux(reading)
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
        seen = self._watch(state, raw_lx, reading, rules, now, now_s, starting)
        lux, trust = seen.lux, seen.trust
        suspect = bool(trust.suspect) and lux is not None
        if trust.distrust and sun_text:
            sun_text = f"lux sensor not believed ({trust.distrust}): {sun_text.split(': ', 1)[-1]}"
        verdict = self._track(state, lux, sun, now_s, starting, suspect=suspect)
        review = manual.review(
            cfg.relay, overrides, now, source=self.id, zone=self._zone, memory=self.memory(state)
        )
        events = list(review.events)
        events += seen.events
        cutoff = self._cutoff(now, now_s, day, rules) if review.active is None and rules is not None else None
        wish: bool | None
        if review.active is not None:
            wish, mode, reason = review.active.on, "override", manual.describe(review.active, self._zone, now)
        elif cutoff is not None:
            wish, mode, reason = False, "cut-off", cutoff
        elif lux is not None:
            wish, mode, reason = verdict.dark, "lux", self._lux_reason(verdict, lux, now_s)
            if suspect:
                since = datetime.fromtimestamp(trust.suspect_since_s or now_s, self._zone).strftime("%H:%M")
                reason = f"{reason}; reads {fmt_lx(raw_lx or 0.0)} lx, {trust.suspect} since {since}: not acted on"
            elif trust.self_lit_lx and state.on:
                reason = f"{reason} (its own lamps' {trust.self_lit_lx:.0f} lx taken off the reading)"
        elif sun is not None:
            wish, mode, reason = sun.night, "astronomical", sun_text
        else:
            wish, mode = None, "safe"
            reason = "wall clock not set and lux sensor faulted: relay to its safe state"
        on, changed_at_s, changed, reason = self.switch(state, wish, reason, now_s, starting)
        if cfg.lux_checks and not starting and state.on is not None and on is not None and on != state.on:
            trust = switching(trust, raw_lx, now_s)
        faulted = cfg.lux_sensor is not None and lux is None
        if faulted != state.lux_faulted:
            events.append(self._fallback_event(faulted, sun, now, trust.distrust if faulted else state.distrust))
        if changed or starting:
            events.append(self.decision_event(now, reason, on=on, mode=mode, lux=lux))
        memory = review.memory
        new_state = LightingState(
            mode, reason, on, changed_at_s, verdict.dark, verdict.reason, verdict.pending_since_s, faulted,
            memory.applied, memory.expired, memory.refused, *trust_values(trust),
        )
        decision = self.settle(state, new_state, events)
        self._trusted = (decision.state, trust)  # a quiet tick gives back the previous, equal state
        return decision

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
        windows = sun_windows(self._observer, day.date, day.start_s, day.end_s) if cfg.lux_checks else None
        return _Day(tuple(cutoffs) if cutoffs is not None else None, sun, windows)

    def _watch(
        self, state: LightingState, raw_lx: float | None, reading: SensorInput | None, rules: _Day | None,
        now: datetime, now_s: float, starting: bool,
    ) -> Watched:
        """This reading judged against the sun and the circuit's lamps (as read when checks are off)."""
        cfg = self.config
        known = self._trusted
        trust = known[1] if known is not None and known[0] is state else trust_of(state)
        if not cfg.lux_checks or cfg.lux_sensor is None:
            return Watched(trust, raw_lx)
        return watch(
            trust, raw_lx, reading, rules.windows if rules is not None else None, now, now_s,
            lamps_on=state.on is True, source=self.id, sensor=cfg.lux_sensor, relay=cfg.relay,
            on_below_lx=cfg.on_below_lx, off_above_lx=cfg.off_above_lx, confirm_s=cfg.lux_check_s,
            elevation_deg=self._sun.elevation_deg, starting=starting,
        )

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

    @staticmethod
    def _lux(reading: SensorInput | None) -> float | None:
        if reading is None or not reading.usable or reading.value is None or reading.value < 0:
            return None
        return float(reading.value)

    def _track(
        self, state: LightingState, lux: float | None, sun: SunVerdict | None, now_s: float, starting: bool,
        *, suspect: bool = False,
    ) -> _Verdict:
        """The confirmed lux verdict after this reading (one that contradicts the sun confirms nothing)."""
        cfg = self.config
        if lux is None:
            if sun is None:
                return _Verdict(state.dark, state.verdict_reason, None)
            word = "night" if sun.night else "day"
            return _Verdict(sun.night, f"{word} by the astronomical clock while the lux sensor was faulted", None)
        if starting or state.dark is None:
            if suspect and sun is not None:
                word = "night" if sun.night else "day"
                return _Verdict(sun.night, f"lux {fmt_lx(lux)} lx against the sun at start: astronomical clock says "
                                           f"{word}", None)
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
        crossing = not suspect and (lux > cfg.off_above_lx if state.dark else lux < cfg.on_below_lx)
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

    def _fallback_event(self, faulted: bool, sun: SunVerdict | None, now: datetime, distrust: str = "") -> Event:
        sensor = self.config.lux_sensor
        what = "not believed" if distrust else "faulted"
        if not faulted:
            reason = f"lux sensor {sensor} {'believed' if distrust else 'answers'} again: lux control resumes"
        elif sun is None:
            reason = f"lux sensor {sensor} {what} and wall clock not set: relay to its safe state"
        else:
            reason = f"lux sensor {sensor} {what}: {self._astro_reason(sun).split(': ', 1)[1]}"
        data = {"relay": self.config.relay, "active": faulted, "sensor": sensor}
        return Event("fallback", self.id, reason, now, data)

