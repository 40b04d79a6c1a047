"""Optimum start for a heating zone: its heating rate learned from its own runs, and how early to start.

A heating run is a stretch of calls with the heater commanded on and a usable thermometer. Every
run of at least LEARN_MIN_RUN_S (cut into segments of LEARN_SEGMENT_S, so a long run teaches
several times) gives one sample of the rate, (temperature at its end - at its start) / duration.
The learned rate is the mean of the first samples, then an exponential average weighing each new
sample LEARN_WEIGHT: it follows the last few runs (the season, the weather). Runs cut by a
restart or a thermometer fault teach nothing: what the heater did meanwhile is unknown.
"""

from __future__ import annotations

from typing import NamedTuple

#: A run shorter than this teaches nothing (radiators warming up, sensor resolution).
LEARN_MIN_RUN_S = 1800.0
#: A longer run is cut into samples of this length.
LEARN_SEGMENT_S = 3600.0
#: Weight of the newest sample in the learned rate, once a few are known.
LEARN_WEIGHT = 0.25
#: Bounds of one sample: a zone that does not warm (door open, heater too small) still gives a
#: finite start time (then max_preheat_min bounds it); a sensor jump cannot claim an absurd speed.
RATE_MIN_C_PER_H = 0.1
RATE_MAX_C_PER_H = 20.0


class HeatingRun(NamedTuple):
    """What the controller knows of the zone's heating rate, and the run being measured."""

    #: Learned rate in °C per hour of heating (None: nothing learned yet).
    rate_c_per_h: float | None
    #: Samples the rate was learned from.
    samples: int
    #: The segment being measured: since when (epoch seconds) and from which temperature.
    since_s: float | None
    from_c: float | None


def sample_rate_c_per_h(from_c: float, to_c: float, duration_s: float) -> float:
    """The rate one heating segment shows, within RATE_MIN_C_PER_H..RATE_MAX_C_PER_H."""
    rate = (to_c - from_c) * 3600.0 / duration_s
    return min(RATE_MAX_C_PER_H, max(RATE_MIN_C_PER_H, rate))


def smooth_rate(rate_c_per_h: float | None, samples: int, sample_c_per_h: float) -> float:
    """The learned rate after one more sample: a plain mean at first, then an exponential average."""
    if rate_c_per_h is None or samples <= 0:
        return sample_c_per_h
    weight = max(LEARN_WEIGHT, 1.0 / (samples + 1))
    return rate_c_per_h + weight * (sample_c_per_h - rate_c_per_h)


def follow_run(
    run: HeatingRun, *, heating: bool, temperature_c: float | None, now_s: float, restarted: bool
) -> HeatingRun:
    """The run after a call where the heater is (`heating`) commanded on, or not; `run` itself if unchanged."""
    since_s, from_c = run.since_s, run.from_c
    if since_s is None or from_c is None:
        if heating and temperature_c is not None:
            return HeatingRun(run.rate_c_per_h, run.samples, now_s, temperature_c)
        return run
    usable = temperature_c is not None and not restarted
    elapsed_s = now_s - since_s
    if heating and usable and 0 <= elapsed_s < LEARN_SEGMENT_S:
        return run
    rate, samples = run.rate_c_per_h, run.samples
    if usable and elapsed_s >= LEARN_MIN_RUN_S:
        assert temperature_c is not None
        rate = smooth_rate(rate, samples, sample_rate_c_per_h(from_c, temperature_c, elapsed_s))
        samples += 1
    if heating and temperature_c is not None:
        return HeatingRun(rate, samples, now_s, temperature_c)
    return HeatingRun(rate, samples, None, None)


def preheat_lead_s(temperature_c: float, target_c: float, rate_c_per_h: float, max_lead_s: float) -> float:
    """How long before a comfort period to start heating from `temperature_c` (at most `max_lead_s`)."""
    if temperature_c >= target_c or max_lead_s <= 0:
        return 0.0
    return min(max_lead_s, (target_c - temperature_c) * 3600.0 / rate_c_per_h)


def preheat_starts_s(
    period_start_s: float, temperature_c: float, target_c: float, rate_c_per_h: float, max_lead_s: float
) -> float | None:
    """When to start heating for a period starting at `period_start_s` (None: no need, already warm)."""
    lead_s = preheat_lead_s(temperature_c, target_c, rate_c_per_h, max_lead_s)
    return period_start_s - lead_s if lead_s > 0 else None
