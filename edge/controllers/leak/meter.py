"""Pure tracking of one water meter's running total: night buckets, zero-flow runs and burst flow.

Only intervals between two usable samples at most `max_gap_s` apart carry information. Across a
longer gap the volume is known but not when it flowed, so it goes into no bucket, the continuous-flow
window restarts and the burst run is forgotten: missing data can delay an alarm, never cause one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from edge.controllers.leak.stats import NightWindows, spread_volume

#: A total lower than the previous one by more than this is a replaced or reset meter, not jitter.
BACKWARDS_TOLERANCE_L = 1e-6
#: An increase above this is flow (meters with fine values register drips).
FLOW_EPSILON_L = 1e-9


@dataclass(frozen=True, slots=True)
class NightData:
    """Volume and data coverage per bucket of the night being recorded."""

    night: str
    volume_l: tuple[float, ...]
    covered_s: tuple[float, ...]
    gaps: int = 0


@dataclass(frozen=True, slots=True)
class MeterTrack:
    """What is remembered of the meter's recent samples (times are epoch seconds)."""

    last_at: float | None = None
    last_total_l: float | None = None
    #: Start of the current unbroken run of data, and the total then (continuous-flow window).
    observed_since: float | None = None
    observed_since_total_l: float | None = None
    #: Time of the first sample at the current total: no water has flowed since.
    zero_run_since: float | None = None
    #: Latest time a zero-flow interval of at least zero_flow_min was seen, and the total then.
    last_zero_at: float | None = None
    last_zero_total_l: float | None = None
    #: Recent samples (time, total) for the burst check, and since when the flow has stayed above it.
    recent: tuple[tuple[float, float], ...] = ()
    above_since: float | None = None
    flow_lph: float | None = None
    night: NightData | None = None


@dataclass(frozen=True, slots=True)
class MeterParams:
    """How samples are judged."""

    windows: NightWindows
    max_gap_s: float
    zero_flow_s: float
    burst_lph: float | None
    burst_s: float
    resolution_l: float
    night_burst_lph: float | None = None

    @property
    def burst_window_s(self) -> float:
        """The span over which the burst flow is averaged: long enough for 10 meter steps at the burst
        flow (so one pulse more or less is not 'below the threshold'), at most half the burst time."""
        thresholds = [x for x in (self.burst_lph, self.night_burst_lph) if x is not None]
        if not thresholds:
            return 60.0
        ten_steps_s = 10.0 * self.resolution_l / min(thresholds) * 3600.0
        return min(self.burst_s / 2.0, max(60.0, ten_steps_s))

    def burst_threshold_lph(self, at: float) -> float | None:
        """The burst threshold at a time: `night_burst_lph` inside the night window if set."""
        if self.night_burst_lph is not None and self.windows.overlapping(at, at) is not None:
            return self.night_burst_lph
        return self.burst_lph


@dataclass(frozen=True, slots=True)
class Ingested:
    """A sample taken into account: the new track and what it was."""

    track: MeterTrack
    kind: str  # "first" | "sample" | "gap" | "backwards" | "old"


def _fresh(at: float, total_l: float) -> MeterTrack:
    return MeterTrack(
        last_at=at,
        last_total_l=total_l,
        observed_since=at,
        observed_since_total_l=total_l,
        zero_run_since=at,
        recent=((at, total_l),),
    )


def ingest(track: MeterTrack, at: float, total_l: float, params: MeterParams, analysed: str | None) -> Ingested:
    """Take one usable sample of the running total into account.

    `analysed` is the last night already analysed (ISO date): later data for it is not recorded.
    """
    if track.last_at is None or track.last_total_l is None:
        return Ingested(_fresh(at, total_l), "first")
    if at <= track.last_at:
        return Ingested(track, "old")
    if total_l < track.last_total_l - BACKWARDS_TOLERANCE_L:
        return Ingested(_fresh(at, total_l), "backwards")
    t0, v0 = track.last_at, track.last_total_l
    delta_l = total_l - v0
    flowed = delta_l > FLOW_EPSILON_L
    if at - t0 > params.max_gap_s:
        return Ingested(_after_gap(track, at, total_l, flowed, params, analysed), "gap")
    night = _record_night(track.night, t0, at, delta_l, params, analysed)
    zero_run_since = at if flowed or track.zero_run_since is None else track.zero_run_since
    last_zero_at, last_zero_total = track.last_zero_at, track.last_zero_total_l
    if at - zero_run_since >= params.zero_flow_s:
        last_zero_at, last_zero_total = at, total_l
    recent, above_since, flow_lph = _burst(track, at, total_l, params)
    # Every field named (as dataclasses.replace would copy the two kept ones), at a fraction of its cost.
    return Ingested(
        MeterTrack(
            last_at=at,
            last_total_l=total_l,
            observed_since=track.observed_since,
            observed_since_total_l=track.observed_since_total_l,
            zero_run_since=zero_run_since,
            last_zero_at=last_zero_at,
            last_zero_total_l=last_zero_total,
            recent=recent,
            above_since=above_since,
            flow_lph=flow_lph,
            night=night,
        ),
        "sample",
    )


def _after_gap(
    track: MeterTrack, at: float, total_l: float, flowed: bool, params: MeterParams, analysed: str | None
) -> MeterTrack:
    night = track.night
    assert track.last_at is not None
    gap_night = params.windows.overlapping(track.last_at, at)
    if gap_night is not None and (analysed is None or gap_night.isoformat() > analysed):
        night = _night_for(night, gap_night, params)
        night = replace(night, gaps=night.gaps + 1)
    return replace(
        track,
        last_at=at,
        last_total_l=total_l,
        observed_since=at,
        observed_since_total_l=total_l,
        # An unchanged total across the gap proves that nothing flowed during it.
        zero_run_since=track.zero_run_since if not flowed and track.zero_run_since is not None else at,
        recent=((at, total_l),),
        above_since=None,
        flow_lph=None,
        night=night,
    )


def _night_for(night: NightData | None, which: date, params: MeterParams) -> NightData:
    key = which.isoformat()
    if night is not None and night.night == key:
        return night
    count = len(params.windows.buckets(which))
    return NightData(key, (0.0,) * count, (0.0,) * count)


def _record_night(
    night: NightData | None, t0: float, t1: float, delta_l: float, params: MeterParams, analysed: str | None
) -> NightData | None:
    which = params.windows.overlapping(t0, t1)
    if which is None or (analysed is not None and which.isoformat() <= analysed):
        return night
    current = _night_for(night, which, params)
    volume, covered = spread_volume(
        params.windows.buckets(which), current.volume_l, current.covered_s, t0, t1, delta_l
    )
    return replace(current, volume_l=volume, covered_s=covered)


def _burst(
    track: MeterTrack, at: float, total_l: float, params: MeterParams
) -> tuple[tuple[tuple[float, float], ...], float | None, float | None]:
    """Keep the samples the burst check needs; the flow over the burst window and since when it held."""
    window_s = params.burst_window_s
    samples = (*track.recent, (at, total_l))
    # Keep the newest sample at least one window old, and everything after it.
    reference = 0
    for i, (t, _) in enumerate(samples):
        if t <= at - window_s:
            reference = i
    samples = samples[reference:]
    t_ref, v_ref = samples[0]
    if t_ref > at - window_s or at <= t_ref:
        return samples, None, None
    flow_lph = (total_l - v_ref) / (at - t_ref) * 3600.0
    threshold = params.burst_threshold_lph(at)
    if threshold is None or flow_lph < threshold:
        return samples, None, flow_lph
    above_since = track.above_since if track.above_since is not None else t_ref
    return samples, above_since, flow_lph


def continuous_since(track: MeterTrack) -> tuple[float, float] | None:
    """Since when (and from which total) water has flowed without a zero-flow interval, as far as seen."""
    if track.observed_since is None or track.observed_since_total_l is None:
        return None
    if track.last_zero_at is not None and track.last_zero_total_l is not None:
        if track.last_zero_at >= track.observed_since:
            return track.last_zero_at, track.last_zero_total_l
    return track.observed_since, track.observed_since_total_l


def restart_window(track: MeterTrack) -> MeterTrack:
    """Start the continuous-flow window afresh at the last sample (after an acknowledged alarm)."""
    return replace(track, observed_since=track.last_at, observed_since_total_l=track.last_total_l)
