"""Leak controller: night flow, continuous flow and burst on one water meter, with an optional valve.

Design (pure: same state, inputs and time give the same decision):
- Input: the meter's running total `<meter>.volume_total_l`. Flows come from deltas between usable
  samples at most `max_gap_min` apart; a faulted reading or a longer gap carries no flow, restarts the
  continuous-flow window and the burst run, and leaves night buckets short of data (such a night is
  skipped and listed as skipped in the evidence). A total that goes backwards (meter replaced or
  reset) restarts the tracking with a "fault" event; the learned baseline is kept (same building).
- Night flow: each night window (default 01:00-05:00 local) is cut into `bucket_min` buckets; the
  minimum night flow (MNF) is the lowest bucket-average flow. Hourly buckets suit 1-10 L pulse meters
  (a 2 L/h drip gives 2 pulses per bucket); shorter buckets suit fine Modbus meters. The nightly job
  at the window's end (or the first sample after it) compares the MNF with a baseline learned from
  up to `baseline_nights` nights (median; spread = SD of the non-outlier nights, widened while few,
  floored at half of max(min_detectable_lph, one meter step per bucket)) and feeds a one-sided CUSUM
  of z = (MNF - median) / spread minus `cusum_k`; the alarm latches at `cusum_h`. A night's z is
  capped at k + h/2, so no single odd night alarms. The first `warmup_nights` usable nights only
  learn; later nights are learned after a week of quarantine and only while the CUSUM is below h/2
  (leak_stats), so a leak is never absorbed into the baseline. With the defaults (k 1, h 4) a leak
  of min_detectable_lph scores z = 2 and alarms on the 4th night, twice that on the 2nd; on a
  1 L/pulse building meter: 1 L/h in 4 nights, 2 L/h and more in 2. A night the job missed is
  analysed by decide(starting=True), or by decide() an hour after the night's end anyway.
- Continuous flow: a zero-flow interval is a run of samples with the same total lasting at least
  `zero_flow_min`. A flow q on a meter of r litres per step shows no step for r/q hours, so a run of
  Z minutes only proves "nothing flows" for flows above r/Z; taking Z = 60 min on a 1 L meter means
  every flow of 2 L/h or more (two steps per Z) is continuous, while a building's quiet night has
  hours without a step. Alarm when none was seen in 24 h of unbroken data. Switch it off for meters
  that never stop (a village inlet).
- Burst: flow averaged over a short window (at least 10 meter steps) stays at or above `burst_lph`
  (`night_burst_lph` inside the night window, if set: a village's morning peak can top a burst at
  night) for `burst_min` minutes. It latches an alarm and closes `valve_relay`; the valve stays closed,
  whatever a technician orders, until the burst alarm is acknowledged (decision.interlocks names it).
  The valve command never depends on current data, so a faulted meter leaves the valve as it is.
- Alarms latch in the state until their key arrives in `acks`. Acknowledging the night-flow alarm
  restarts the CUSUM (a leak still there alarms again after a few nights; its nights are never
  learned), the continuous-flow alarm restarts its 24 h window, the burst alarm reopens the valve.
- The meter's role (leak/role_rules.py): silence (a blind inlet), a learned day profile and the surges
  above it, nights above a building's configured night use never learned, intermittent night flow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge.config.model import DeviceConfig
from edge.controllers import overrides as manual
from edge.controllers.base import Decision, Job, SensorInput
from edge.controllers.events import Event
from edge.controllers.leak import state as leak_state
from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.meter import (
    MeterParams,
    continuous_since,
    ingest,
    restart_window,
)
from edge.controllers.leak.role_rules import RoleRules
from edge.controllers.leak.state import (
    KEPT_NIGHTS,
    LatchedAlarm,
    LeakState,
    NightRecord,
)
from edge.controllers.leak.stats import (
    EVIDENCE_NIGHTS,
    Detector,
    DetectorParams,
    NightWindows,
    assess_night,
    current_baseline,
    night_flow,
)
from edge.controllers.leak.valve import Valve

NIGHTLY_JOB = "nightly"
CONTINUOUS_WINDOW_S = 24 * 3600.0
#: A night whose nightly verdict did not come (the calendar stalled) is judged by decide() this long after it.
LATE_VERDICT_S = 2 * 3600.0


def _iso(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else datetime.fromtimestamp(epoch_s, UTC).isoformat()


class LeakController:
    """Watches one water meter for leaks and bursts, and owns its shut-off valve if there is one."""

    def __init__(self, config: LeakConfig, device: DeviceConfig) -> None:
        self.config = config
        self.id = config.id
        tz = ZoneInfo(device.timezone)
        self.valve = Valve(config, tz)
        self.windows = NightWindows(config.night_start, config.night_end, config.bucket_min * 60.0, tz)
        self.meter_params = MeterParams(
            windows=self.windows,
            max_gap_s=config.max_gap_min * 60.0,
            zero_flow_s=config.zero_flow_min * 60.0,
            burst_lph=config.burst_lph,
            burst_s=config.burst_min * 60.0,
            resolution_l=config.meter_resolution_l,
            night_burst_lph=config.night_burst_lph,
        )
        step_lph = config.meter_resolution_l * 60.0 / config.bucket_min
        self.rules = RoleRules(config, tz)  # silence, surge, night patterns: leak/role_rules.py
        self.detector_params = DetectorParams(
            warmup_nights=config.warmup_nights,
            baseline_nights=config.baseline_nights,
            cusum_k=config.cusum_k,
            cusum_h=config.cusum_h,
            spread_floor_lph=max(config.min_detectable_lph, step_lph) / 2.0,
            step_lph=step_lph,
            limit_lph=self.rules.limit_lph,
        )
        self._json: leak_state.StateJson | None = None

    @property
    def relays(self) -> tuple[str, ...]:
        """The valve relay, if configured."""
        return () if self.config.valve_relay is None else (self.config.valve_relay,)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The meter's running total (and the hydrant's key switch, if wired)."""
        switch = self.valve.switch_key
        return (self.config.input_key,) if switch is None else (self.config.input_key, switch)

    @property
    def jobs(self) -> tuple[Job, ...]:
        """The nightly verdict, verdict_delay_min after the end of the night window."""
        return (Job(NIGHTLY_JOB, self.config.verdict_at.strftime("%H:%M")),)

    def initial_state(self) -> LeakState:
        """Nothing learned yet."""
        return LeakState()

    def state_to_dict(self, state: LeakState) -> dict[str, Any]:
        """JSON-ready state (mode, reason, latched alarms, recent nights, tracking)."""
        return leak_state.state_to_dict(state)

    def state_from_dict(self, data: Mapping[str, Any]) -> LeakState:
        """Inverse of state_to_dict."""
        return leak_state.state_from_dict(data)

    def state_to_json(self, state: LeakState, dumps: Callable[[Any], str]) -> str:
        """`dumps(state_to_dict(state))`, without re-encoding the nights every tick (the agent saves it often)."""
        if self._json is None or self._json.dumps is not dumps:
            self._json = leak_state.StateJson(dumps)
        return self._json.encode(state)

    def state_summary(self, state: LeakState) -> tuple[str, str]:
        """The state's "mode" and "reason", as state_to_dict gives them (for the status snapshot)."""
        return state.mode, state.reason

    # -- calendar job -------------------------------------------------------------------------
    def run_job(self, name: str, state: LeakState, now: datetime) -> Decision[LeakState]:
        """The nightly verdict: judge the night that ended verdict_delay_min ago, once.

        The delay lets the samples that close the night's last bucket come in (with a 1 L/pulse meter,
        one pulse less in the last bucket reads as half the flow). decide() judges a night itself only
        after a restart that missed the job, or LATE_VERDICT_S after it if the calendar stalled.
        The valve command follows at the next decide.
        """
        if name != NIGHTLY_JOB:
            raise ValueError(f"unknown job {name!r} for leak controller {self.id!r}")
        events: list[Event] = []
        night = self.windows.latest_ended(now)
        if state.analysed_through is None or night.isoformat() > state.analysed_through:
            state = self._analyse(state, night, now, events, by="nightly job")
        state = self._with_mode(state)
        return Decision(state, (), tuple(events), self.valve.interlocks(state))

    # -- every tick ---------------------------------------------------------------------------
    def decide(
        self,
        state: LeakState,
        inputs: Mapping[str, SensorInput],
        overrides: Mapping[str, manual.Override],
        now: datetime,
        *,
        starting: bool = False,
        acks: frozenset[str] = frozenset(),
    ) -> Decision[LeakState]:
        """Track the meter, check continuous flow and burst, catch up a missed night, drive the valve."""
        events: list[Event] = []
        state = self._apply_acks(state, acks, now, events)
        state = self.valve.observe(state, inputs, overrides, now, events)
        latest = self.windows.latest_ended(now)
        if state.analysed_through is None:
            state = replace(state, analysed_through=latest.isoformat())
        reading = inputs.get(self.config.input_key)
        if reading is not None and reading.usable:
            assert reading.value is not None
            at = (reading.at or now).timestamp()
            state = self._take_sample(state, at, float(reading.value), now, events)
            if state.faulted:
                state = replace(state, faulted=False)
        elif not state.faulted:
            state = replace(state, faulted=True)
        assert state.analysed_through is not None
        if latest.isoformat() > state.analysed_through:
            due_s = self.windows.bounds(latest)[1] + self.config.verdict_delay_min * 60.0
            now_s = now.timestamp()
            if starting and now_s >= due_s:
                state = self._analyse(state, latest, now, events, by="restart after the nightly job's time")
            elif now_s >= due_s + LATE_VERDICT_S:
                state = self._analyse(state, latest, now, events, by="late: the nightly job did not run")
        commands, state = self.valve.command(state, overrides, now, starting, events)
        state = self._with_mode(state)
        return Decision(state, commands, tuple(events), self.valve.interlocks(state))

    def _take_sample(
        self, state: LeakState, at: float, total_l: float, now: datetime, events: list[Event]
    ) -> LeakState:
        before = state.track
        result = ingest(before, at, total_l, self.meter_params, state.analysed_through)
        state = state.with_track(result.track)
        if result.kind == "backwards":
            events.append(Event("fault", self.id, f"meter {self.config.meter} total went back from "
                                f"{before.last_total_l:.1f} L to {total_l:.1f} L (meter replaced or reset): "
                                "leak tracking restarted", now,
                                {"meter": self.config.meter, "previous_total_l": before.last_total_l,
                                 "total_l": total_l}))
        state = self.rules.on_sample(state, before, result.kind, now, events, self._raise)
        if result.kind != "sample":
            return state
        state = self._check_continuous(state, now, events)
        return self._check_burst(state, now, events)

    # -- night flow ---------------------------------------------------------------------------
    def _analyse(self, state: LeakState, night: date, now: datetime, events: list[Event], *, by: str) -> LeakState:
        key = night.isoformat()
        buckets = self.windows.buckets(night)
        data = state.track.night
        figures: dict[str, Any] = {}
        if data is None or data.night != key:
            flow_mnf, note = None, "skipped: no meter data"
        else:
            flow = night_flow(buckets, data.volume_l, data.covered_s, self.windows.tz)
            flow_mnf, note = flow.mnf_lph, flow.note
            figures = self.rules.night_figures(data.volume_l)
            if flow_mnf is not None and self.config.rules.inlet and not figures["volume_l"]:
                flow_mnf, note = None, "skipped: not one meter step all night from a village inlet (meter silent?)"
            if data.gaps:
                note += f"; {data.gaps} gap(s) in the data"
        state = replace(state, analysed_through=key)
        if flow_mnf is None:
            record = NightRecord(key, None, note, **figures)
            events.append(self._verdict_event(record, by, now))
            return self._remember(state, record)
        verdict = assess_night(state.detector, key, flow_mnf, self.detector_params)
        base = verdict.baseline
        learning = "not learned: above the configured night use" if verdict.refused else "learning"
        record = NightRecord(
            key, flow_mnf, learning if verdict.learning else note,
            None if base is None else base.median_lph, None if base is None else base.spread_lph,
            verdict.z, None if verdict.learning else verdict.detector.cusum, **figures, refused=verdict.refused,
        )
        upcoming = current_baseline(verdict.detector, self.detector_params)
        state = self._remember(replace(
            state,
            detector=verdict.detector,
            baseline_lph=None if upcoming is None else upcoming.median_lph,
            spread_lph=None if upcoming is None else upcoming.spread_lph,
        ), record)
        events.append(self._verdict_event(record, by, now))
        if verdict.alarm and base is not None and not state.latched("night_flow"):
            reason = (f"night flow {flow_mnf:.1f} L/h against a usual {base.median_lph:.1f} L/h "
                      f"(spread {base.spread_lph:.1f} L/h): leak suspected over the last nights")
            evidence = {
                "night_flows_lph": self._night_evidence(state),
                "baseline_lph": round(base.median_lph, 3),
                "spread_lph": round(base.spread_lph, 3),
                "baseline_nights": base.nights,
                "excess_lph": round(flow_mnf - base.median_lph, 3),
                "cusum": round(verdict.detector.cusum, 3),
                "cusum_h": self.config.cusum_h,
                "cusum_k": self.config.cusum_k,
            }
            state = self._raise(state, "night_flow", reason, evidence, now, events)
        return self.rules.after_night(state, now, events, self._raise)

    def _verdict_event(self, record: NightRecord, by: str, now: datetime) -> Event:
        """The night's verdict as the events table keeps it: its minimum night flow against the baseline."""
        text = f"night ending {record.night}: "
        if record.mnf_lph is None:
            text += record.note
        elif record.baseline_lph is None or record.cusum is None:
            text += f"minimum night flow {record.mnf_lph:.1f} L/h ({record.note})"
        else:
            text += (f"minimum night flow {record.mnf_lph:.1f} L/h against a usual {record.baseline_lph:.1f} L/h, "
                     f"CUSUM {record.cusum:.1f} of {self.config.cusum_h:g}")
        return Event("job", self.id, f"{text} [{by}]", now, {"job": NIGHTLY_JOB, "by": by, **record.evidence()})

    def _remember(self, state: LeakState, record: NightRecord) -> LeakState:
        return replace(state, nights=(*state.nights, record)[-KEPT_NIGHTS:])

    def _night_evidence(self, state: LeakState) -> list[dict[str, Any]]:
        return [n.evidence() for n in state.nights[-EVIDENCE_NIGHTS:]]

    # -- continuous flow and burst --------------------------------------------------------------
    def _check_continuous(self, state: LeakState, now: datetime, events: list[Event]) -> LeakState:
        track = state.track
        since = continuous_since(track)
        if not self.config.continuous_flow or since is None or state.latched("continuous_flow"):
            return state
        assert track.last_at is not None and track.last_total_l is not None
        span_s = track.last_at - since[0]
        if span_s < CONTINUOUS_WINDOW_S:
            return state
        volume_l = track.last_total_l - since[1]
        average_lph = volume_l / span_s * 3600.0
        reason = (f"water has flowed without a {self.config.zero_flow_min} min pause for "
                  f"{span_s / 3600.0:.0f} h (average {average_lph:.1f} L/h)")
        evidence = {
            "flowing_since": _iso(since[0]),
            "last_zero_flow_at": _iso(track.last_zero_at),
            "zero_flow_min": self.config.zero_flow_min,
            "volume_l": round(volume_l, 3),
            "average_flow_lph": round(average_lph, 3),
            "night_flows_lph": self._night_evidence(state),
        }
        return self._raise(state, "continuous_flow", reason, evidence, now, events)

    def _check_burst(self, state: LeakState, now: datetime, events: list[Event]) -> LeakState:
        track = state.track
        if track.above_since is None or state.latched("burst"):
            return state
        assert track.last_at is not None
        held_s = track.last_at - track.above_since
        if held_s < self.config.burst_min * 60.0:
            return state
        valve = self.valve.burst_note(state, now)
        threshold = self.meter_params.burst_threshold_lph(track.last_at)
        reason = (f"burst: {track.flow_lph:.0f} L/h, at or above {threshold:.0f} L/h "
                  f"for {held_s / 60.0:.0f} min{valve}")
        evidence = {
            "flow_lph": None if track.flow_lph is None else round(track.flow_lph, 3),
            "burst_lph": threshold,
            "above_since": _iso(track.above_since),
            "burst_min": self.config.burst_min,
            "valve_relay": self.config.valve_relay,
            "night_flows_lph": self._night_evidence(state),
        }
        return self._raise(state, "burst", reason, evidence, now, events)

    # -- alarms -----------------------------------------------------------------------------
    def _raise(
        self, state: LeakState, kind: str, reason: str, evidence: dict[str, Any], now: datetime, events: list[Event]
    ) -> LeakState:
        key = f"{self.id}/{kind}"
        events.append(Event("alarm", self.id, reason, now, {"key": key, "alarm_kind": kind, "evidence": evidence}))
        alarm = LatchedAlarm(key, kind, now.timestamp(), reason, evidence)
        return replace(state, alarms=(*state.alarms, alarm))

    def _apply_acks(self, state: LeakState, acks: frozenset[str], now: datetime, events: list[Event]) -> LeakState:
        for alarm in state.alarms:
            if alarm.key not in acks:
                continue
            events.append(Event("alarm_acked", self.id, f"{alarm.alarm_kind} alarm acknowledged", now,
                                {"key": alarm.key, "alarm_kind": alarm.alarm_kind}))
            state = replace(state, alarms=tuple(a for a in state.alarms if a.key != alarm.key))
            state = self.rules.acked(state, alarm.alarm_kind)
            if alarm.alarm_kind == "night_flow":
                state = replace(state, detector=Detector(state.detector.learned, (), 0.0))
            elif alarm.alarm_kind == "continuous_flow":
                state = replace(state, track=restart_window(state.track))
            elif alarm.alarm_kind == "burst":
                state = replace(state, track=replace(state.track, above_since=None))
        return state

    # -- status -------------------------------------------------------------------------------
    def _with_mode(self, state: LeakState) -> LeakState:
        if state.alarms:
            mode, reason = "alarm", "; ".join(a.reason for a in state.alarms)
        elif state.faulted:
            mode, reason = "no_data", f"meter {self.config.meter} reading unusable: leak checks paused"
        elif state.baseline_lph is None or state.spread_lph is None:
            mode = "learning"
            reason = (f"learning the night flow: {len(state.detector.learned)} of "
                      f"{self.config.warmup_nights} nights")
        else:
            mode = "watching"
            reason = (f"night flow baseline {state.baseline_lph:.1f} L/h (spread {state.spread_lph:.1f}), "
                      f"CUSUM {state.detector.cusum:.1f} of {self.config.cusum_h:g}")
        mode, reason = self.rules.status(state, mode, reason)
        if mode == state.mode and reason == state.reason:
            return state
        return replace(state, mode=mode, reason=reason)

