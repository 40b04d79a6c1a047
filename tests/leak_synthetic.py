"""Seeded synthetic water demand for leak tests: a public building on a 1 L/pulse meter, a village inlet.

Demand is generated minute by minute (L/h averaged over the minute), integrated into the meter's
running total and quantized to the meter's step, then sampled like the runtime samples a meter.
A small runner feeds those samples to a LeakController the way the runtime does (decide every
sample, the nightly job at the night's end).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.config.model import DeviceConfig
from edge.controllers.base import Decision, SensorInput
from edge.controllers.events import Event
from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.controller import LeakController
from edge.controllers.leak.state import LeakState
from edge.controllers.overrides import Override

TZ = ZoneInfo("Europe/Paris")
DEVICE = DeviceConfig(id="mairie", name="", latitude=45.2, longitude=5.7, timezone="Europe/Paris")
#: A Monday, local midnight.
START = datetime(2026, 1, 5, tzinfo=TZ).astimezone(UTC)
INLET_MNF_LPH = 400.0


def _poisson(rng: random.Random, rate: float) -> int:
    """Events in one interval for an expected count `rate` (small rates: inversion)."""
    count, p, threshold = 0, 1.0, math.exp(-rate)
    while True:
        p *= rng.random()
        if p <= threshold:
            return count
        count += 1


def _local_hours(days: int) -> list[tuple[int, bool]]:
    """Local hour of day and whether it is a weekday, for each hour since START."""
    out = []
    for i in range(days * 24):
        local = (START + timedelta(hours=i)).astimezone(TZ)
        out.append((local.hour, local.weekday() < 5))
    return out


def building_flows(seed: int, days: int, leak_lph: float = 0.0, leak_from_min: int = 0) -> list[float]:
    """Per-minute flow of a town hall: flushes and taps by day, rare single flushes at night."""
    rng = random.Random(seed)
    flows = [0.0] * (days * 1440)
    hours = _local_hours(days)
    for minute in range(days * 1440):
        hour, weekday = hours[minute // 60]
        if 8 <= hour < 18:
            flush_rate, tap_rate = (8.0, 10.0) if weekday else (0.5, 0.5)
        elif 18 <= hour < 22 or (6 <= hour < 8 and weekday):
            flush_rate, tap_rate = 1.5, 2.0
        else:
            flush_rate, tap_rate = 0.05, 0.02
        volume_l = 6.0 * _poisson(rng, flush_rate / 60.0) + 1.5 * _poisson(rng, tap_rate / 60.0)
        flows[minute] = volume_l * 60.0
        if leak_lph and minute >= leak_from_min:
            flows[minute] += leak_lph
    return flows


def _inlet_profile(hour: float) -> float:
    """Demand as a multiple of the night minimum: quiet 01-05, peaks at breakfast and in the evening."""
    morning = 7.0 * math.exp(-((hour - 8.0) ** 2) / 3.0)
    evening = 8.0 * math.exp(-((hour - 20.0) ** 2) / 4.0)
    midday = 4.0 * math.exp(-((hour - 13.0) ** 2) / 8.0)
    return 1.0 + morning + evening + midday


def inlet_flows(seed: int, days: int, leak_lph: float = 0.0, leak_from_min: int = 0,
                night_sd: float = 0.075) -> list[float]:
    """Per-minute flow into a village: ~400 L/h at night (varying night to night), m3/h by day."""
    rng = random.Random(seed)
    flows = [0.0] * (days * 1440)
    hours = _local_hours(days)
    for day in range(days):
        seasonal = 1.0 + 0.05 * math.sin(2.0 * math.pi * day / 365.0)
        night_min = INLET_MNF_LPH * seasonal * max(0.5, 1.0 + rng.gauss(0.0, night_sd))
        refill = rng.random() < 0.03
        quarter = 1.0
        for m in range(1440):
            minute = day * 1440 + m
            h = hours[minute // 60][0] + (minute % 60) / 60.0
            if m % 15 == 0:
                quarter = 1.0 + rng.gauss(0.0, 0.03)
            flow = night_min * _inlet_profile(h) * quarter * (1.0 + rng.gauss(0.0, 0.05))
            if refill and 2.0 <= h < 4.0:
                flow += 600.0
            flows[minute] = max(0.0, flow)
            if leak_lph and minute >= leak_from_min:
                flows[minute] += leak_lph
    return flows


def meter_totals(flows_lph: Sequence[float], step_l: float, sample_s: int,
                 start_total_l: float = 1000.0) -> list[tuple[datetime, float]]:
    """The meter's running total sampled every `sample_s` (quantized to `step_l`, 0: fine values)."""
    samples: list[tuple[datetime, float]] = []
    true_l = start_total_l
    every_min = sample_s / 60.0
    next_sample = 0.0
    for minute, flow in enumerate(flows_lph):
        while next_sample <= minute:
            shown = math.floor(true_l / step_l + 1e-9) * step_l if step_l else round(true_l, 3)
            samples.append((START + timedelta(minutes=next_sample), shown))
            next_sample += every_min
        true_l += flow / 60.0
    return samples


def building_config(**changes: object) -> LeakConfig:
    """The suggested config for a public building's 1 L/pulse meter."""
    base = dict(id="leak-main", meter="water-main", meter_resolution_l=1.0, burst_lph=1500.0, burst_min=10,
                valve_relay="main-valve")
    base.update(changes)
    return LeakConfig(**base)  # type: ignore[arg-type]


def inlet_config(**changes: object) -> LeakConfig:
    """A village inlet's config: never stops flowing, so no continuous-flow check."""
    base = dict(id="leak-inlet", meter="inlet", meter_resolution_l=10.0, continuous_flow=False,
                burst_lph=12000.0, night_burst_lph=3000.0, valve_relay="inlet-valve")
    base.update(changes)
    return LeakConfig(**base)  # type: ignore[arg-type]


@dataclass
class Run:
    """What a controller did over a run."""

    state: LeakState
    events: list[Event]
    decisions: list[Decision[LeakState]]

    def alarms(self, kind: str | None = None) -> list[Event]:
        """Alarm events (of one kind)."""
        return [e for e in self.events if e.kind == "alarm" and (kind is None or e.data["alarm_kind"] == kind)]


def _job_times(controller: LeakController, first: datetime, last: datetime) -> Iterator[datetime]:
    """When a calendar runs the controller's daily job: its local time, every day."""
    (job,) = controller.jobs
    at_local = time.fromisoformat(job.at_local)
    day = first.astimezone(TZ).date() - timedelta(days=1)
    while True:
        at = datetime.combine(day, at_local, TZ).astimezone(UTC)
        if at > last:
            return
        if at >= first:
            yield at
        day += timedelta(days=1)


def run(
    controller: LeakController,
    samples: Sequence[tuple[datetime, float | None]],
    state: LeakState | None = None,
    *,
    overrides: Callable[[datetime], dict[str, Override]] | None = None,
    acks: Callable[[datetime, LeakState], frozenset[str]] | None = None,
    keep_decisions: bool = False,
) -> Run:
    """Feed samples (None: faulted meter) to decide(), running the nightly job at each night's end."""
    state = controller.initial_state() if state is None else state
    events: list[Event] = []
    decisions: list[Decision[LeakState]] = []
    jobs = _job_times(controller, samples[0][0], samples[-1][0])
    next_job = next(jobs, None)
    starting = True
    for at, total in samples:
        while next_job is not None and next_job <= at:
            decision = controller.run_job("nightly", state, next_job)
            state = decision.state
            events.extend(decision.events)
            next_job = next(jobs, None)
        reading = SensorInput(total, at if total is not None else None, total is not None)
        decision = controller.decide(
            state, {controller.config.input_key: reading}, overrides(at) if overrides else {}, at,
            starting=starting, acks=acks(at, state) if acks else frozenset(),
        )
        starting = False
        state = decision.state
        events.extend(decision.events)
        if keep_decisions:
            decisions.append(decision)
    return Run(state, events, decisions)


def night_of(event: Event) -> str:
    """The local date of the night an event was raised after (its local date)."""
    return event.at.astimezone(TZ).date().isoformat()
