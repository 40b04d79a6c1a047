"""The meter's learned day: expected flow hour by hour, and the burst judged against it (pure).

Each hour of the local day (24 slots) keeps the mean flows of its last PROFILE_DAYS complete hours
(at least 75 % covered by data, not during a latched burst, not silent). The hour's expected flow is
the second largest of them (about the 80th percentile of a week: one odd day, a fete or a burst that
slipped in, moves nothing). A surge is the flow averaged over the last `surge_window_min` above
`surge_factor` times the largest expected flow of the hours the window touches and the hours on either
side (a morning rise within the hour is the next hour's flow, an evening fall starts at the last hour's),
and above `surge_floor_lph`. The rule waits
until every slot it needs holds PROFILE_MIN_DAYS hours. An hour whose flow is itself a surge against
the profile is not learned, so a burst that runs for hours never becomes the expected flow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

HOUR_S = 3600.0
#: Complete hours kept per slot, and how many a slot needs before it is trusted.
PROFILE_DAYS = 7
PROFILE_MIN_DAYS = 3
#: An hour whose data covers less than this share of it is not learned.
MIN_HOUR_COVERAGE = 0.75
EMPTY_SLOTS: tuple[tuple[float, ...], ...] = ((),) * 24


@dataclass(frozen=True, slots=True)
class Profile:
    """Hour-of-day mean flows (L/h) of the last days, and the hour being measured (epoch hour index)."""

    slots: tuple[tuple[float, ...], ...] = EMPTY_SLOTS
    hour: int | None = None
    volume_l: float = 0.0
    covered_s: float = 0.0
    #: The hour being measured is not to be learned (a burst latched, the meter silent).
    spoilt: bool = False


def local_hour(epoch_hour: int, tz: ZoneInfo) -> int:
    """The local hour of day (slot) at the start of an epoch hour."""
    return datetime.fromtimestamp(epoch_hour * HOUR_S, UTC).astimezone(tz).hour


def expected_lph(slots: tuple[tuple[float, ...], ...], slot: int) -> float | None:
    """The slot's expected flow: the second largest of its kept hours (None below PROFILE_MIN_DAYS)."""
    values = slots[slot]
    if len(values) < PROFILE_MIN_DAYS:
        return None
    return sorted(values)[-2]


def day_mean_lph(slots: tuple[tuple[float, ...], ...], hours: range = range(6, 22)) -> float | None:
    """Mean of the expected flows over day hours (06:00-22:00), once every one of them is known."""
    values = [expected_lph(slots, h) for h in hours]
    if any(v is None for v in values):
        return None
    return math.fsum(v for v in values if v is not None) / len(values)


def peak(slots: tuple[tuple[float, ...], ...]) -> tuple[int, float] | None:
    """The slot with the largest expected flow, and that flow (None while nothing is known)."""
    known = [(e, h) for h in range(24) if (e := expected_lph(slots, h)) is not None]
    if not known:
        return None
    flow, hour = max(known)
    return hour, flow


def surge_threshold_lph(
    slots: tuple[tuple[float, ...], ...], at: float, window_s: float, factor: float, floor_lph: float, tz: ZoneInfo
) -> tuple[float, float] | None:
    """(threshold, expected flow) for a window ending at `at`; None while a slot it needs is unknown."""
    hours = range(int((at - window_s) // HOUR_S) - 1, int(at // HOUR_S) + 2)
    expected = [expected_lph(slots, local_hour(h, tz)) for h in hours]
    if any(e is None for e in expected):
        return None
    worst = max(e for e in expected if e is not None)
    return max(floor_lph, factor * worst), worst


def add_interval(
    profile: Profile, t0: float, t1: float, delta_l: float, tz: ZoneInfo, *, spoilt: bool,
    surge_factor: float | None,
) -> Profile:
    """Add the volume that flowed between two samples, closing (and learning) the hours it completes."""
    span_s = t1 - t0
    if span_s <= 0.0:
        return profile
    first, last = int(t0 // HOUR_S), int((t1 - 1e-9) // HOUR_S)
    if first == last == profile.hour:  # the usual case, within the hour being measured
        return Profile(profile.slots, first, profile.volume_l + delta_l, profile.covered_s + span_s,
                       profile.spoilt or spoilt)
    for hour in range(first, last + 1):
        if profile.hour != hour:
            profile = _close(profile, tz, surge_factor)
            profile = replace(profile, hour=hour, volume_l=0.0, covered_s=0.0, spoilt=False)
        overlap_s = min(t1, (hour + 1) * HOUR_S) - max(t0, hour * HOUR_S)
        profile = replace(
            profile, volume_l=profile.volume_l + delta_l * overlap_s / span_s,
            covered_s=profile.covered_s + overlap_s, spoilt=profile.spoilt or spoilt,
        )
    return profile


def _close(profile: Profile, tz: ZoneInfo, surge_factor: float | None) -> Profile:
    """Learn the hour being measured if it is complete enough, unspoilt and not itself a surge."""
    if profile.hour is None or profile.spoilt or profile.covered_s < MIN_HOUR_COVERAGE * HOUR_S:
        return profile
    flow_lph = profile.volume_l / profile.covered_s * HOUR_S
    slot = local_hour(profile.hour, tz)
    expected = expected_lph(profile.slots, slot)
    if surge_factor is not None and expected is not None and flow_lph > surge_factor * expected:
        return profile
    slots = list(profile.slots)
    slots[slot] = (*slots[slot], round(flow_lph, 3))[-PROFILE_DAYS:]
    return replace(profile, slots=tuple(slots))


def summary(profile: Profile) -> str:
    """The profile in a few words for the status: its peak hour and how many days it knows."""
    days = min(len(s) for s in profile.slots)
    top = peak(profile.slots)
    if top is None:
        return f"day profile: learning ({max(len(s) for s in profile.slots)} of {PROFILE_MIN_DAYS} days)"
    hour, flow = top
    return f"day profile: peak {flow:.0f} L/h at {hour:02d}:00, {days} full day(s) of {PROFILE_DAYS} kept"
