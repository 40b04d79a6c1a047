"""Pure night-flow statistics for leak detection: night windows, buckets, minimum night flow, baseline, CUSUM.

Why these choices (the leak controller's docstring has the whole design):
- Minimum night flow (MNF) = the smallest bucket-average flow inside the night window. Legitimate use
  at night is short and rare (a flush, a tap), so at least one bucket per night is usually free of it,
  while a leak flows in every bucket: the minimum keeps the leak and drops the use.
- Baseline = median of recent learned nights; spread = SD of the nights the MAD does not call outliers
  (one odd night, a party or a tank filled, moves neither), widened while few nights are learned.
  The spread has a floor, half of max(min_detectable_lph, one meter step per bucket), so a building
  whose nights read exactly 0 L/h does not divide by zero, and a leak of min_detectable_lph scores
  z = 2: with k = 1 it adds 1 a night and is found in about h nights.
- A one-sided CUSUM on the normalized excess z = (MNF - median) / spread accumulates small, steady
  excesses night after night (a 2 L/h drip) but forgets isolated nights. Each night's z is capped at
  k + h/2, so no single night, however odd, can raise the alarm alone: it takes two nights at least.
- Nights wait a week in quarantine before they are learned (see assess_night), so a leak is never
  absorbed into the baseline before it is found.
- Defaults k = 1, h = 4, 42 baseline nights, 14 warm-up nights were chosen by simulation: with
  Gaussian night-to-night noise, about one false alarm in 20 years, fewer than 2 % of meters with
  one in their first 90 nights; a shift of 2.7 spreads (a 20 % leak on an inlet varying 7.5 % night
  to night) is found in 3 nights (90 %: 5), a shift of 3.5 spreads (the same leak, 4.6 %) in 3.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: MAD of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826
#: A bucket whose data covers less than this share of its length gives no flow.
MIN_BUCKET_COVERAGE = 0.75
#: Learned nights further than this many spreads from the median are outliers (a festival night).
OUTLIER_SPREADS = 4.0
#: The spread of n learned nights is widened by 1 + this / (n - 1).
SMALL_SAMPLE_WIDENING = 3.0
#: Nights wait this long before they are learned (longer than a leak takes to be found).
QUARANTINE_NIGHTS = 7
#: How many recent nights a night-flow alarm shows as evidence.
EVIDENCE_NIGHTS = 14
#: Night bounds remembered by NightWindows (a few days around now are asked for).
BOUNDS_KEPT = 64


@dataclass(frozen=True, slots=True)
class NightWindows:
    """The nightly analysis window in local time and its buckets, converted to UTC epoch seconds."""

    start: time
    end: time
    bucket_s: float
    tz: ZoneInfo
    #: Bounds of the nights asked for lately, the last span of time found inside one night window or
    #: between two (start, end, night or None), and the span over which latest_ended gives the same
    #: night: pure functions of the fields above, remembered because they are asked every tick.
    _bounds: dict[date, tuple[float, float]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _span: list[tuple[float, float, date | None]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    _latest: list[tuple[float, float, date]] = field(default_factory=list, init=False, repr=False, compare=False)

    def bounds(self, night: date) -> tuple[float, float]:
        """Epoch seconds of the start and end of the night that ends on local date `night`."""
        found = self._bounds.get(night)
        if found is None:
            start_day = night if self.start < self.end else night - timedelta(days=1)
            start = datetime.combine(start_day, self.start, self.tz).astimezone(UTC)
            end = datetime.combine(night, self.end, self.tz).astimezone(UTC)
            found = start.timestamp(), end.timestamp()
            if len(self._bounds) >= BOUNDS_KEPT:
                self._bounds.clear()
            self._bounds[night] = found
        return found

    def buckets(self, night: date) -> tuple[tuple[float, float], ...]:
        """The buckets of a night (the last one shorter when a DST change shortens the night)."""
        start_s, end_s = self.bounds(night)
        count = max(1, math.ceil((end_s - start_s) / self.bucket_s - 1e-9))
        return tuple((start_s + i * self.bucket_s, min(end_s, start_s + (i + 1) * self.bucket_s)) for i in range(count))

    def latest_ended(self, now: datetime) -> date:
        """The local date of the most recent night whose window has ended at `now`."""
        now_s = now.timestamp()
        if self._latest:
            ended_s, next_end_s, night = self._latest[0]
            if ended_s <= now_s < next_end_s:
                return night
        today = now.astimezone(self.tz).date()
        night = today if self.bounds(today)[1] <= now_s else today - timedelta(days=1)
        # The answer stays the same until the next night ends.
        self._latest[:] = [(self.bounds(night)[1], self.bounds(night + timedelta(days=1))[1], night)]
        return night

    def overlapping(self, t0_s: float, t1_s: float) -> date | None:
        """The night (its end date) whose window overlaps the interval [t0, t1], if any."""
        if self._span:
            lo, hi, night = self._span[0]
            # Within one window (t0 < t1), or between two: the same answer as the last time.
            if lo <= t0_s and t1_s <= hi and (night is None or t0_s < t1_s):
                return night
        local = datetime.fromtimestamp(t1_s, UTC).astimezone(self.tz).date()
        nights = (local, local + timedelta(days=1), local - timedelta(days=1))
        for night in nights:
            start_s, end_s = self.bounds(night)
            if start_s < t1_s and end_s > t0_s:
                self._remember_span(start_s, end_s, night)
                return night
        ended = [end_s for end_s in (self.bounds(n)[1] for n in nights) if end_s <= t0_s]
        starting = [start_s for start_s in (self.bounds(n)[0] for n in nights) if start_s >= t1_s]
        if ended and starting:
            self._remember_span(max(ended), min(starting), None)
        return None

    def _remember_span(self, lo: float, hi: float, night: date | None) -> None:
        self._span[:] = [(lo, hi, night)]


def spread_volume(
    buckets: Sequence[tuple[float, float]],
    volume_l: Sequence[float],
    covered_s: Sequence[float],
    t0_s: float,
    t1_s: float,
    delta_l: float,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Add the volume that flowed between two samples to the buckets, in proportion to the overlap."""
    volumes = list(volume_l)
    covered = list(covered_s)
    span_s = t1_s - t0_s
    for i, (b0, b1) in enumerate(buckets):
        overlap_s = min(t1_s, b1) - max(t0_s, b0)
        if overlap_s > 0 and span_s > 0:
            volumes[i] += delta_l * overlap_s / span_s
            covered[i] += overlap_s
    return tuple(volumes), tuple(covered)


@dataclass(frozen=True, slots=True)
class NightFlow:
    """A night's minimum night flow, or why there is none."""

    mnf_lph: float | None
    bucket_flows_lph: tuple[float | None, ...]
    note: str


def night_flow(
    buckets: Sequence[tuple[float, float]],
    volume_l: Sequence[float],
    covered_s: Sequence[float],
    tz: ZoneInfo,
) -> NightFlow:
    """Minimum over buckets of the bucket-average flow; no value unless every bucket has enough data.

    A bucket missing is not simply left out: the minimum over fewer buckets is biased upwards, and
    missing data must never push a night towards an alarm.
    """
    flows: list[float | None] = []
    missing: list[str] = []
    for (b0, b1), volume, covered in zip(buckets, volume_l, covered_s, strict=True):
        if covered >= MIN_BUCKET_COVERAGE * (b1 - b0):
            flows.append(volume / covered * 3600.0)
        else:
            flows.append(None)
            label = datetime.fromtimestamp(b0, UTC).astimezone(tz).strftime("%H:%M")
            missing.append(f"{label} ({100.0 * covered / (b1 - b0):.0f} % covered)")
    if missing:
        return NightFlow(None, tuple(flows), "skipped: meter data missing in bucket " + ", ".join(missing))
    return NightFlow(min(f for f in flows if f is not None), tuple(flows), "ok")


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a leak-free night looks like: median MNF and the spread one night's MNF is judged by."""

    median_lph: float
    spread_lph: float
    nights: int


def robust_baseline(values: Sequence[float], floor_lph: float, step_lph: float = 0.0) -> Baseline:
    """Median of learned nights, and the standard deviation of those the MAD does not call outliers.

    The SD of the inliers, not the MAD itself, is the spread: on a pulse meter the MNF moves by whole
    pulses per bucket (10 L/h on a 10 L inlet meter, a third of its spread), and a MAD made of such
    steps jumps between values far apart. Few nights give a spread that is often too small, so it is
    widened by 1 + 3/(n - 1) (x1.5 after 7 nights, x1.07 after 42), and never below `floor_lph`.
    """
    if not values:
        raise ValueError("a baseline needs at least one night")
    median = statistics.median(values)
    scale = max(MAD_TO_SIGMA * statistics.median(abs(v - median) for v in values), step_lph, floor_lph)
    inliers = [v for v in values if abs(v - median) <= OUTLIER_SPREADS * scale]
    sd = _stdev(inliers)
    widen = 1.0 + SMALL_SAMPLE_WIDENING / max(1, len(values) - 1)
    return Baseline(median, max(sd * widen, floor_lph), len(values))


def _stdev(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


@dataclass(frozen=True, slots=True)
class DetectorParams:
    """How the night-flow detector learns and decides."""

    warmup_nights: int
    baseline_nights: int
    cusum_k: float
    cusum_h: float
    spread_floor_lph: float
    step_lph: float = 0.0
    #: Nights above this minimum night flow are never learned (a building's configured night use).
    limit_lph: float | None = None

    @property
    def z_cap(self) -> float:
        """The largest normalized excess one night may add: two capped nights reach h, one never does."""
        return self.cusum_k + self.cusum_h / 2.0


@dataclass(frozen=True, slots=True)
class Detector:
    """The night-flow detector's memory: learned nights, nights in quarantine, the CUSUM."""

    learned: tuple[tuple[str, float], ...] = ()
    pending: tuple[tuple[str, float], ...] = ()
    cusum: float = 0.0


@dataclass(frozen=True, slots=True)
class NightVerdict:
    """What one night did to the detector."""

    detector: Detector
    learning: bool
    baseline: Baseline | None
    z: float | None
    alarm: bool
    #: Above limit_lph during the warm-up: not learned.
    refused: bool = False


def current_baseline(detector: Detector, params: DetectorParams) -> Baseline | None:
    """The baseline the next night is compared with (None while warming up)."""
    if len(detector.learned) < params.warmup_nights:
        return None
    values = [v for _, v in detector.learned[-params.baseline_nights:]]
    return robust_baseline(values, params.spread_floor_lph, params.step_lph)


def assess_night(detector: Detector, night: str, mnf_lph: float, params: DetectorParams) -> NightVerdict:
    """Learn the night (warm-up), or compare it with the baseline, update the CUSUM and the quarantine.

    After warm-up a night is learned only after QUARANTINE_NIGHTS newer nights, and only while the
    CUSUM is below h/2; an alarm empties the quarantine. A leak is thus found before its nights could
    reach the baseline, and learning stops while an anomaly builds up; a false start that fades away
    is learned in full, so the learned nights are not a sample truncated to its lower half.
    """
    keep = params.baseline_nights
    baseline = current_baseline(detector, params)
    limit = math.inf if params.limit_lph is None else params.limit_lph
    if baseline is None:
        if mnf_lph > limit:
            return NightVerdict(detector, True, None, None, False, refused=True)
        learned = (*detector.learned, (night, mnf_lph))[-keep:]
        return NightVerdict(Detector(learned, (), 0.0), True, None, None, False)
    z = min((mnf_lph - baseline.median_lph) / baseline.spread_lph, params.z_cap)
    cusum = max(0.0, detector.cusum + z - params.cusum_k)
    alarm = cusum >= params.cusum_h
    learned = detector.learned
    pending = (*detector.pending, (night, mnf_lph))
    if alarm:
        pending = ()
    while len(pending) > QUARANTINE_NIGHTS and cusum < params.cusum_h / 2.0:
        if pending[0][1] <= limit:
            learned = (*learned, pending[0])[-keep:]
        pending = pending[1:]
    return NightVerdict(Detector(learned, pending[-keep:], cusum), False, baseline, z, alarm)
