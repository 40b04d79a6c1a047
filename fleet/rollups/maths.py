"""Pure roll-up arithmetic: local days, energy from a cumulative register, hours lit, astronomical dark time,
minimum night flow. No database here: lists of (time, value) in, figures out.

Definitions shared with the box:
- minimum night flow is the box leak watch's (edge/controllers/leak/stats.py, reused): the night window cut
  into buckets, each bucket's average flow from the volume between samples at most `max_gap_s` apart, the
  smallest bucket average; none when a bucket is less than 75 % covered;
- astronomical night is the lighting controller's clock (edge/controllers/sun.py, reused): before sunrise
  and from sunset on the local date (astral, sun's centre at -0.833°), offsets 0.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

from edge.controllers.leak.stats import NightWindows, night_flow, spread_volume
from edge.controllers.sun import HORIZON_DEG, SunCalendar

#: A register lower than the previous sample by more than this was reset or replaced.
RESET_TOLERANCE = 1e-6
#: Samples of a cumulative register further apart than this say how much, not when: no day gets it (a box
#: off for longer; its meters' totals still agree over the year, only that span is not put on a day).
MAX_INTERVAL_S = 6 * 3600.0
#: The elevation is sampled this often on the rare days with a sunrise and no sunset (or the reverse).
POLAR_EDGE_STEP_S = 60.0

#: Flow spans (a box's hourly aggregate the longest) end at most this long after they start.
MAX_SPAN_S = 2 * 3600.0

Sample = tuple[float, float]


def local_day(ts: float, zone: ZoneInfo) -> date:
    """The local date at epoch second `ts`."""
    return datetime.fromtimestamp(ts, zone).date()


@lru_cache(maxsize=4096)
def day_bounds(day: date, zone: ZoneInfo) -> tuple[float, float]:
    """Epoch seconds of a local day's first instant and of the next day's (23 or 25 h apart on DST days)."""
    start = datetime.combine(day, time(0), zone).timestamp()
    return start, datetime.combine(day + timedelta(days=1), time(0), zone).timestamp()


def days_between(first: date, last: date) -> list[date]:
    """Every date from `first` to `last` inclusive."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _split(t0: float, t1: float, amount: float, zone: ZoneInfo, into: dict[date, float]) -> None:
    """Add `amount`, spread evenly over [t0, t1], to the local days it covers."""
    day = local_day(t0, zone)
    if t1 <= day_bounds(day, zone)[1]:
        into[day] = into.get(day, 0.0) + amount
        return
    while True:
        start, end = day_bounds(day, zone)
        overlap = min(t1, end) - max(t0, start)
        if overlap > 0:
            into[day] = into.get(day, 0.0) + amount * overlap / (t1 - t0)
        if end >= t1:
            return
        day += timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RegisterDay:
    """One day of a cumulative register: what it counted, its samples that day, the resets seen."""

    amount: float
    samples: int
    resets: int


def register_days(samples: Iterable[Sample], zone: ZoneInfo, *, max_interval_s: float = MAX_INTERVAL_S
                  ) -> dict[date, RegisterDay]:
    """What a cumulative register (kWh, litres) counted per local day, from its samples in any order.

    The increase between two consecutive samples is spread evenly over the time between them, so an
    interval across midnight is shared by both days. A fall is a reset or a replaced meter: that interval
    counts nothing (never invented consumption) and the reset is counted on its day. An interval longer
    than `max_interval_s` says how much, not when: it counts on no day.
    """
    ordered = sorted({ts: value for ts, value in samples}.items())
    amounts: dict[date, float] = {}
    counts: dict[date, int] = {}
    resets: dict[date, int] = {}
    for ts, _ in ordered:
        day = local_day(ts, zone)
        counts[day] = counts.get(day, 0) + 1
    for (t0, v0), (t1, v1) in pairwise(ordered):
        if v1 < v0 - RESET_TOLERANCE:
            day = local_day(t1, zone)
            resets[day] = resets.get(day, 0) + 1
        elif t1 - t0 <= max_interval_s:
            _split(t0, t1, max(0.0, v1 - v0), zone, amounts)
    days = set(amounts) | set(counts)
    return {d: RegisterDay(amounts.get(d, 0.0), counts.get(d, 0), resets.get(d, 0)) for d in days}


def lit_seconds(
    changes: Sequence[tuple[float, bool | None]], start: float, end: float, horizon: float, initial: bool | None
) -> tuple[float, int]:
    """(seconds on, switches) of a relay over [start, min(end, horizon)), from its state at `start` and its
    later decisions (time, on; None: unknown) sorted by time. Unknown time is not lit."""
    stop = min(end, horizon)
    lit, switches, state, since = 0.0, 0, initial, start
    for ts, on in changes:
        if ts < start or ts >= end:
            continue
        if state and ts > since:
            lit += min(ts, stop) - since
        if on is not None and state is not None and on != state:
            switches += 1
        state, since = on, max(since, ts)
    if state and stop > since:
        lit += stop - since
    return lit, switches


def dark_seconds(calendar: SunCalendar, day: date) -> float:
    """Seconds of astronomical night in a local day at the calendar's place (the lighting controller's clock:
    night before sunrise and from sunset, both on that date)."""
    start, end = day_bounds(day, calendar.zone)
    times = calendar.times(day)
    if times.polar == "night":
        return end - start
    if times.polar == "day":
        return 0.0
    if times.sunrise is None or times.sunset is None:
        steps = int((end - start) // POLAR_EDGE_STEP_S)
        dark = sum(
            1 for i in range(steps)
            if calendar.elevation_deg(datetime.fromtimestamp(start + (i + 0.5) * POLAR_EDGE_STEP_S, UTC)) < HORIZON_DEG
        )
        return dark * POLAR_EDGE_STEP_S
    return max(0.0, times.sunrise.timestamp() - start) + max(0.0, end - times.sunset.timestamp())


@dataclass(frozen=True, slots=True)
class NightFigures:
    """One meter's night: minimum night flow (None when data is missing), samples in the window, volume."""

    min_flow_lph: float | None
    samples: int
    volume_l: float


def night_windows(start: time, end: time, bucket_min: int, zone: ZoneInfo) -> NightWindows:
    """The box's night windows (a night named there by the date it ends on)."""
    return NightWindows(start, end, bucket_min * 60.0, zone)


def evening_of(night_end: date) -> date:
    """The evening a night is named by here: the day before the morning its window ends."""
    return night_end - timedelta(days=1)


def nights_touching(windows: NightWindows, day: date) -> list[date]:
    """Evenings of the nights whose window overlaps a local day."""
    start, end = day_bounds(day, windows.tz)
    found = []
    for night_end in (day, day + timedelta(days=1)):
        w0, w1 = windows.bounds(night_end)
        if w0 < end and w1 > start:
            found.append(evening_of(night_end))
    return found


def night_days(windows: NightWindows, evening: date) -> list[date]:
    """The local days the window of the night of `evening` overlaps."""
    w0, w1 = windows.bounds(evening + timedelta(days=1))
    return days_between(local_day(w0, windows.tz), local_day(w1 - 1e-3, windows.tz))


def night_figures(
    windows: NightWindows,
    evening: date,
    totals: list[Sample],
    flows: list[tuple[float, float, float]],
    max_gap_s: float,
) -> NightFigures | None:
    """A meter's night of `evening` from its running-total samples (litres, sorted by time, one per time) if
    they cover any of the window, else from its flow spans (start, end, L/h over that span, sorted by end:
    `flow_spans`, or a box's hourly aggregate); None when neither has data in the window."""
    night_end = evening + timedelta(days=1)
    buckets = windows.buckets(night_end)
    w0, w1 = windows.bounds(night_end)
    volumes, covered = (0.0,) * len(buckets), (0.0,) * len(buckets)
    lo = bisect_left(totals, w0 - max_gap_s, key=lambda sample: sample[0])
    hi = bisect_right(totals, w1 + max_gap_s, key=lambda sample: sample[0])
    ordered = totals[lo:hi]
    samples = sum(1 for ts, _ in ordered if w0 <= ts <= w1)
    for (t0, v0), (t1, v1) in pairwise(ordered):
        if t1 - t0 <= max_gap_s and v1 >= v0 - RESET_TOLERANCE and t1 > w0 and t0 < w1:
            volumes, covered = spread_volume(buckets, volumes, covered, t0, t1, max(0.0, v1 - v0))
    if not any(covered):
        lo = bisect_right(flows, w0, key=lambda span: span[1])
        hi = bisect_right(flows, w1 + MAX_SPAN_S, key=lambda span: span[1])
        spans = flows[lo:hi]
        samples = sum(1 for _, t1, _ in spans if t1 <= w1)
        for t0, t1, flow_lph in spans:
            if t1 > t0 and t1 > w0 and t0 < w1:
                volumes, covered = spread_volume(buckets, volumes, covered, t0, t1, flow_lph * (t1 - t0) / 3600.0)
    if not samples and not any(covered):
        return None
    return NightFigures(night_flow(buckets, volumes, covered, windows.tz).mnf_lph, samples, sum(volumes))


def flow_spans(samples: Iterable[Sample], max_gap_s: float) -> list[tuple[float, float, float]]:
    """Flow samples (time, L/h) as spans (previous sample's time, time, L/h); the first sample and any
    after a gap longer than `max_gap_s` cover no span."""
    ordered = sorted({ts: v for ts, v in samples}.items())
    return [
        (t0, t1, f1) for (t0, _), (t1, f1) in pairwise(ordered) if 0 < t1 - t0 <= max_gap_s
    ]
