"""The rules that judge a meter against its role (pure; the leak controller calls them).

- Silence: a meter that counts nothing for `silent_after_h` (inlet 6 h, building 72 h) is reported with
  a "fault" event (code "meter_silent"; severity "fault" for an inlet, whose leak watch is then blind,
  "warning" for a building, which may be closed for a holiday), cleared ("fault_cleared") at its next step.
  A silent meter's hours are not learned into the profile.
- Surge: flow over the last `surge_window_min` above `surge_factor` times the hour's expected flow
  (leak/profile.py) and above `surge_floor_lph` raises a "profile_burst" alarm (a burst by day, under the
  absolute burst_lph). It does not move the valve. Acknowledged, it re-arms once the flow falls back.
- Night patterns, for a building whose config gives `night_use_lph`: a night whose minimum night flow is
  above night_use_lph plus max(min_detectable_lph, one meter step per bucket) is not learned during the
  warm-up, and `repeat_nights` such nights in a row raise "implausible_baseline"; flow in at least
  `intermittent_share` of a night's buckets (a cistern refilling a few litres each hour, dry hours
  between, so the minimum stays 0) on `repeat_nights` nights in a row raises "intermittent_night_flow".
  For an inlet, a learned night baseline above `inlet_night_share_max` of its learned day flow raises
  "implausible_baseline". Acknowledged, a pattern counts again from the next night.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.controllers.events import Event
from edge.controllers.leak import profile as day
from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.meter import MeterTrack
from edge.controllers.leak.state import LeakState, NightRecord

Raise = Callable[[LeakState, str, str, dict[str, Any], datetime, list[Event]], LeakState]
SURGE = "profile_burst"
INTERMITTENT = "intermittent_night_flow"
IMPLAUSIBLE = "implausible_baseline"
#: Alarms during which an hour is not learned into the profile.
SPOILING = ("burst", SURGE)


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


class RoleRules:
    """Silence, surge and night patterns of one leak watch."""

    def __init__(self, config: LeakConfig, tz: ZoneInfo) -> None:
        self.config = config
        self.rules = config.rules
        self.tz = tz
        self.window_s = self.rules.surge_window_min * 60.0
        self.silent_after_s = self.rules.silent_after_h * 3600.0
        bucket_h = config.bucket_min / 60.0
        step_lph = config.meter_resolution_l / bucket_h
        night_use = self.rules.night_use_lph
        #: A building's nights above this minimum night flow are not learned (None: no expectation).
        self.limit_lph = None if night_use is None else night_use + max(config.min_detectable_lph, step_lph)
        #: A bucket holding more than this volume had flow beyond the configured night use.
        self.wet_l = (night_use or 0.0) * bucket_h + 0.5 * max(config.meter_resolution_l,
                                                               config.min_detectable_lph * bucket_h)
        #: The last profile summarised and its words (a pure function of the slots, remembered).
        self._summary: tuple[tuple[tuple[float, ...], ...], str] | None = None
        self._status: tuple[tuple[Any, ...], tuple[str, str]] | None = None
        #: The last surge threshold worked out: (slots, (first, last epoch hour of the window), threshold).
        self._thresholds: tuple[tuple[tuple[float, ...], ...], tuple[int, int], tuple[float, float] | None] | None = None

    # -- every sample ---------------------------------------------------------------------------
    def on_sample(
        self, state: LeakState, before: MeterTrack, kind: str, now: datetime, events: list[Event], raise_: Raise
    ) -> LeakState:
        """Silence, the profile and the surge after one sample was taken in."""
        if kind == "old":  # the same reading again: nothing new
            return state
        state = self._silence(state, now, events)
        track = state.track
        if track.last_at is None or track.last_total_l is None:
            return state
        if kind != "sample" or before.last_at is None or before.last_total_l is None:
            return replace(state, surge_recent=((track.last_at, track.last_total_l),), surge_flow_lph=None)
        spoilt = state.silent_since is not None or any(state.latched(k) for k in SPOILING)
        profile = day.add_interval(state.profile, before.last_at, track.last_at,
                                   track.last_total_l - before.last_total_l, self.tz, spoilt=spoilt,
                                   surge_factor=self.rules.surge_factor)
        recent, flow_lph = _window_flow(state.surge_recent, track.last_at, track.last_total_l, self.window_s)
        state = state.with_day(profile, recent, flow_lph)
        factor = self.rules.surge_factor
        if factor is None or flow_lph is None:
            return state
        found = self._threshold(profile.slots, track.last_at, factor)
        if found is None:
            return state
        threshold, expected = found
        if flow_lph <= threshold:
            return state if state.surge_armed else replace(state, surge_armed=True)
        if not state.surge_armed or state.latched(SURGE):
            return state
        reason = (f"burst: {flow_lph:.0f} L/h over the last {self.rules.surge_window_min} min, more than "
                  f"{factor:g} x the {expected:.0f} L/h expected around this hour (learned profile)")
        evidence = {
            "flow_lph": round(flow_lph, 3), "expected_lph": round(expected, 3), "threshold_lph": round(threshold, 3),
            "surge_factor": factor, "window_min": self.rules.surge_window_min,
            "since": _iso(recent[0][0]),
        }
        return raise_(state, SURGE, reason, evidence, now, events)

    def _threshold(self, slots: tuple[tuple[float, ...], ...], at: float, factor: float) -> tuple[float, float] | None:
        """The surge threshold for a window ending at `at`: the same until the hours or the slots change."""
        key = (int((at - self.window_s) // day.HOUR_S), int(at // day.HOUR_S))
        known = self._thresholds
        if known is None or known[0] is not slots or known[1] != key:
            found = day.surge_threshold_lph(slots, at, self.window_s, factor, self.rules.surge_floor_lph, self.tz)
            known = self._thresholds = (slots, key, found)
        return known[2]

    def _silence(self, state: LeakState, now: datetime, events: list[Event]) -> LeakState:
        track = state.track
        if track.last_at is None or track.zero_run_since is None:
            return state
        meter = self.config.meter
        if state.silent_since is not None:
            if track.zero_run_since == state.silent_since:
                return state
            events.append(Event("fault_cleared", self.config.id, f"meter {meter} counts again after "
                                f"{(track.zero_run_since - state.silent_since) / 3600.0:.1f} h of silence", now,
                                {"code": "meter_silent", "meter": meter}))
            return replace(state, silent_since=None)
        quiet_s = track.last_at - track.zero_run_since
        if quiet_s < self.silent_after_s or state.valve_closed:  # our own valve closed explains it
            return state
        hours = quiet_s / 3600.0
        if self.rules.inlet:
            severity = "fault"
            text = (f"meter {meter} silent: no step for {hours:.1f} h, and a village inlet never stops: "
                    "the leak watch is blind (reed switch or meter stopped?)")
        else:
            severity = "warning"
            text = (f"meter {meter} silent: no step for {hours / 24.0:.1f} d (building closed, or the meter "
                    "stopped?): no leak can be seen meanwhile")
        events.append(Event("fault", self.config.id, text, now, {
            "code": "meter_silent", "severity": severity, "meter": meter, "role": self.rules.role,
            "silent_since": _iso(track.zero_run_since), "silent_h": round(hours, 2),
            "silent_after_h": self.rules.silent_after_h,
        }))
        return replace(state, silent_since=track.zero_run_since)

    # -- every night ----------------------------------------------------------------------------
    def night_figures(self, volume_l: Sequence[float]) -> dict[str, Any]:
        """The night's buckets with flow beyond the night use, their count and the litres in the window."""
        return {"wet_buckets": sum(1 for v in volume_l if v > self.wet_l), "buckets": len(volume_l),
                "volume_l": round(math.fsum(volume_l), 3)}

    def after_night(self, state: LeakState, now: datetime, events: list[Event], raise_: Raise) -> LeakState:
        """The night patterns, once the night's record is in state.nights."""
        if self.rules.inlet:
            return self._inlet_baseline(state, now, events, raise_)
        if self.limit_lph is None:
            return state
        nights = self._run(state)
        if len(nights) < self.rules.repeat_nights:
            return state
        evidence: dict[str, Any] = {
            "nights": [n.evidence() for n in nights], "night_use_lph": self.rules.night_use_lph,
            "repeat_nights": self.rules.repeat_nights,
        }
        if all(n.refused for n in nights) and not state.latched(IMPLAUSIBLE):
            flows = ", ".join(f"{n.mnf_lph:.1f}" for n in nights if n.mnf_lph is not None)
            reason = (f"night flow {flows} L/h on {len(nights)} nights in a row, in a building configured to use "
                      f"{self.rules.night_use_lph:g} L/h at night: leak (not learned as the baseline)")
            state = raise_(state, IMPLAUSIBLE, reason, {**evidence, "limit_lph": self.limit_lph}, now, events)
        needed = math.ceil(self.rules.intermittent_share * (nights[0].buckets or 1) - 1e-9)
        wet = all(n.wet_buckets is not None and n.wet_buckets >= needed for n in nights)
        if wet and not any(state.latched(k) for k in (INTERMITTENT, IMPLAUSIBLE, "night_flow")):
            hours = ", ".join(f"{n.wet_buckets}/{n.buckets} h ({n.volume_l:.0f} L)" for n in nights)
            reason = (f"intermittent night flow: water in {hours} of the night window on {len(nights)} nights in "
                      f"a row, in a building configured to use {self.rules.night_use_lph:g} L/h at night: leak")
            state = raise_(state, INTERMITTENT, reason, {**evidence, "wet_l": round(self.wet_l, 3),
                                                         "intermittent_share": self.rules.intermittent_share},
                           now, events)
        return state

    def _run(self, state: LeakState) -> list[NightRecord]:
        """The last repeat_nights judged nights, if they follow one another and come after pattern_from."""
        nights = list(state.nights[-self.rules.repeat_nights:])
        if any(n.mnf_lph is None for n in nights):
            return []
        if state.pattern_from is not None and nights and nights[0].night <= state.pattern_from:
            return []
        dates = [date.fromisoformat(n.night) for n in nights]
        if any((b - a).days != 1 for a, b in itertools.pairwise(dates)):
            return []
        return nights

    def _inlet_baseline(self, state: LeakState, now: datetime, events: list[Event], raise_: Raise) -> LeakState:
        base = state.baseline_lph
        day_lph = day.day_mean_lph(state.profile.slots)
        if base is None or day_lph is None or state.latched(IMPLAUSIBLE):
            return state
        since = state.pattern_from
        if since is not None and state.analysed_through is not None and (
            date.fromisoformat(state.analysed_through) - date.fromisoformat(since)
        ).days < self.rules.repeat_nights:
            return state
        share = self.rules.inlet_night_share_max
        if base <= share * day_lph:
            return state
        reason = (f"learned night flow {base:.0f} L/h is {base / day_lph:.0%} of the {day_lph:.0f} L/h the village "
                  f"draws by day (at most {share:.0%} is plausible): a leak learned as normal")
        evidence = {"baseline_lph": round(base, 3), "day_mean_lph": round(day_lph, 3),
                    "inlet_night_share_max": share, "night_flows_lph": [n.evidence() for n in state.nights[-7:]]}
        return raise_(state, IMPLAUSIBLE, reason, evidence, now, events)

    # -- acknowledgements and status ------------------------------------------------------------
    def acked(self, state: LeakState, alarm_kind: str) -> LeakState:
        """What an acknowledgement restarts: a surge re-arms when the flow falls, a pattern counts anew."""
        if alarm_kind == SURGE:
            return replace(state, surge_armed=False)
        if alarm_kind in (INTERMITTENT, IMPLAUSIBLE):
            return replace(state, pattern_from=state.analysed_through)
        return state

    def status(self, state: LeakState, mode: str, reason: str) -> tuple[str, str]:
        """The mode and reason with what the role adds: blind or silent meter, refused nights, the profile."""
        # A pure function of these (immutable: the same objects, the same words), asked on every decide.
        key = (mode, reason, state.silent_since, state.nights, state.detector, state.profile.slots)
        known = self._status
        if known is not None and all(a is b or a == b for a, b in zip(known[0], key, strict=True)):
            return known[1]
        found = self._status_of(state, mode, reason)
        self._status = (key, found)
        return found

    def _status_of(self, state: LeakState, mode: str, reason: str) -> tuple[str, str]:
        notes = []
        if mode == "learning" and state.detector.learned:
            so_far = sorted(v for _, v in state.detector.learned)[len(state.detector.learned) // 2]
            notes.append(f"night flow so far {so_far:.1f} L/h")
        if state.silent_since is not None:
            since = datetime.fromtimestamp(state.silent_since, UTC).astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
            if self.rules.inlet:
                notes.append(f"BLIND: meter {self.config.meter} has counted nothing since {since}; a village inlet "
                             "never stops, so this says nothing about leaks")
                mode = "blind" if mode in ("learning", "watching") else mode
            else:
                notes.append(f"meter {self.config.meter} silent since {since} (warning)")
        last = state.nights[-1] if state.nights else None
        if last is not None and last.refused and last.mnf_lph is not None:
            notes.append(f"night {last.night} not learned: {last.mnf_lph:.1f} L/h above the configured night use "
                         f"({self.limit_lph:g} L/h at most)")
        # The profile's words change once an hour at most: worked out again only then.
        if self._summary is None or self._summary[0] is not state.profile.slots:
            self._summary = (state.profile.slots, day.summary(state.profile))
        notes.append(self._summary[1])
        return mode, "; ".join([reason, *notes])


def _window_flow(
    recent: tuple[tuple[float, float], ...], at: float, total_l: float, window_s: float
) -> tuple[tuple[tuple[float, float], ...], float | None]:
    """Keep the samples of the last window (and the newest one older); the flow over it, once it spans it."""
    samples = (*recent, (at, total_l))
    reference = 0
    for i, (t, _) in enumerate(samples):
        if t <= at - window_s:
            reference = i
    samples = samples[reference:]
    t_ref, v_ref = samples[0]
    if t_ref > at - window_s or at <= t_ref:
        return samples, None
    return samples, (total_l - v_ref) / (at - t_ref) * 3600.0
