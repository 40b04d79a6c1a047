"""The burst rule alone: a flow at or above the threshold for burst_min closes the valve, at night against
night_burst_lph and by day against burst_lph; flows below the threshold, or above it too briefly, do not.

The night-flow rule cannot alarm (warmup_nights = 60, longer than every run) and the continuous-flow rule is
off. Expected times come from the config: the valve closes once the flow, averaged over the burst window (at
least 10 meter steps at the threshold and a minute, at most burst_min / 2), has stayed at or above the
threshold for burst_min; the watch sees it at the first sample after that.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from leak_synthetic import (
    BUILDING_NIGHT,
    DEVICE,
    INLET_NIGHT,
    START,
    Run,
    building_config,
    inlet_config,
    meter_totals,
    model_flows,
    run,
)

from drivers.sim.world_spec import BurstSpec, MeterSpec
from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.controller import LeakController

SAMPLE_S = 60
SAMPLE = timedelta(seconds=SAMPLE_S)
BUILDING_BURST = building_config(continuous_flow=False, warmup_nights=60, baseline_nights=60, burst_lph=1500.0,
                                 burst_min=10)
INLET_BURST = inlet_config(warmup_nights=60, baseline_nights=60)


def _window(config: LeakConfig, threshold_lph: float) -> timedelta:
    """The span the burst flow is averaged over, from the config: 10 meter steps at the threshold, a minute
    at least, half of burst_min at most."""
    ten_steps_s = 10.0 * config.meter_resolution_l / threshold_lph * 3600.0
    return timedelta(seconds=min(config.burst_min * 30.0, max(60.0, ten_steps_s)))


def _burst_run(config: LeakConfig, spec: MeterSpec, days: int, bursts: Sequence[tuple[timedelta, timedelta, float]]
               ) -> tuple[Run, list[tuple[datetime, float]]]:
    """The watch over `days` of the world with bursts (offset from START, duration, rate); the samples too."""
    specs = [BurstSpec(spec.sensor, START + at, START + at + length, rate) for at, length, rate in bursts]
    flows = model_flows(spec, 3, days, bursts=specs)
    samples = meter_totals(flows, config.meter_resolution_l, SAMPLE_S)
    return run(LeakController(config, DEVICE), samples, keep_decisions=True), samples


def _closed_at(result: Run, samples: list[tuple[datetime, float]], config: LeakConfig) -> list[datetime]:
    """When the valve command went from open to closed."""
    closed_on = config.valve_closed_when == "on"
    times = []
    was_closed = False
    for (at, _), decision in zip(samples, result.decisions, strict=True):
        closed = decision.commands[0].on == closed_on
        if closed and not was_closed:
            times.append(at)
        was_closed = closed
    return times


def _max_held_lph(samples: list[tuple[datetime, float]], window: timedelta, span: timedelta) -> float:
    """Ground truth seen by the meter: the highest flow, averaged over `window`, held for a whole `span`."""
    step = int(window / SAMPLE)
    flows = [(samples[i + step][1] - samples[i][1]) / window.total_seconds() * 3600.0
             for i in range(len(samples) - step)]
    hold = int(span / SAMPLE)
    return max(min(flows[i:i + hold]) for i in range(len(flows) - hold))


def test_leak_burst_alone_closes_the_valve_within_burst_min_and_a_sample() -> None:
    config = BUILDING_BURST
    start = timedelta(days=2, hours=10)
    result, samples = _burst_run(config, BUILDING_NIGHT, 3, [(start, timedelta(hours=1), 3000.0)])
    assert config.burst_lph is not None
    window = _window(config, config.burst_lph)
    burst_min = timedelta(minutes=config.burst_min)
    closes = _closed_at(result, samples, config)
    assert len(closes) == 1, closes
    assert START + start + burst_min - window <= closes[0] <= START + start + burst_min + SAMPLE
    assert [a.data["alarm_kind"] for a in result.alarms()] == ["burst"]
    assert result.state.valve_closed and result.state.latched("burst")
    assert result.alarms()[0].data["evidence"]["burst_lph"] == config.burst_lph


@pytest.mark.parametrize(("rate_lph", "minutes"), [(1200.0, 60), (3000.0, 8)])
def test_leak_burst_below_the_threshold_or_shorter_than_burst_min_leaves_the_valve_open(
    rate_lph: float, minutes: int
) -> None:
    config = BUILDING_BURST
    assert config.burst_lph is not None
    result, samples = _burst_run(config, BUILDING_NIGHT, 3, [(timedelta(days=2, hours=10), timedelta(minutes=minutes),
                                                               rate_lph)])
    # Ground truth: the meter never saw burst_lph held for burst_min (below it, or not for long enough).
    window = _window(config, config.burst_lph)
    assert _max_held_lph(samples, window, timedelta(minutes=config.burst_min)) < config.burst_lph
    assert _closed_at(result, samples, config) == [] and result.alarms() == []


def test_leak_night_burst_between_the_two_thresholds_is_caught_inside_the_night_window() -> None:
    config = INLET_BURST
    assert config.night_burst_lph is not None and config.burst_lph is not None
    start = timedelta(days=1, hours=3, minutes=10)  # 03:10, inside 01:00-05:00
    result, samples = _burst_run(config, INLET_NIGHT, 2, [(start, timedelta(hours=1), 6000.0)])
    held = _max_held_lph(samples, _window(config, config.night_burst_lph), timedelta(minutes=config.burst_min))
    assert config.night_burst_lph <= held < config.burst_lph, "the burst is not between the two thresholds"
    window = _window(config, config.night_burst_lph)
    burst_min = timedelta(minutes=config.burst_min)
    closes = _closed_at(result, samples, config)
    assert len(closes) == 1
    assert START + start + burst_min - window <= closes[0] <= START + start + burst_min + SAMPLE
    assert result.alarms()[0].data["evidence"]["burst_lph"] == config.night_burst_lph


@pytest.mark.parametrize("start", [timedelta(hours=5), timedelta(hours=4, minutes=55)],
                         ids=["after-the-window", "five-minutes-inside"])
def test_leak_night_burst_threshold_does_not_apply_outside_the_night_window(start: timedelta) -> None:
    config = INLET_BURST
    assert config.night_burst_lph is not None and config.burst_lph is not None
    at = timedelta(days=1) + start
    result, samples = _burst_run(config, INLET_NIGHT, 2, [(at, timedelta(hours=2), 6000.0)])
    window = _window(config, config.night_burst_lph)
    # Ground truth: above night_burst_lph for well over burst_min, but never at burst_lph.
    assert _max_held_lph(samples, window, timedelta(minutes=60)) >= config.night_burst_lph
    assert _max_held_lph(samples, window, timedelta(minutes=config.burst_min)) < config.burst_lph
    assert _closed_at(result, samples, config) == [] and result.alarms() == []


def test_leak_village_day_peaks_above_the_night_threshold_raise_nothing() -> None:
    config = INLET_BURST
    assert config.night_burst_lph is not None and config.burst_lph is not None
    result, samples = _burst_run(config, INLET_NIGHT, 3, [])
    window = _window(config, config.night_burst_lph)
    held = _max_held_lph(samples, window, timedelta(minutes=config.burst_min))
    assert config.night_burst_lph <= held < config.burst_lph, "the day peaks do not test the two thresholds"
    assert result.alarms() == [] and _closed_at(result, samples, config) == []


def test_leak_day_burst_above_burst_lph_closes_the_inlet_valve() -> None:
    config = INLET_BURST
    assert config.burst_lph is not None
    start = timedelta(days=1, hours=14)
    result, samples = _burst_run(config, INLET_NIGHT, 2, [(start, timedelta(hours=1), 10000.0)])
    window = _window(config, config.burst_lph)
    burst_min = timedelta(minutes=config.burst_min)
    closes = _closed_at(result, samples, config)
    assert len(closes) == 1
    assert START + start + burst_min - window <= closes[0] <= START + start + burst_min + SAMPLE
    assert result.alarms()[0].data["evidence"]["burst_lph"] == config.burst_lph
