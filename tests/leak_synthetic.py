"""Seeded synthetic water demand for leak tests: a public building on a 1 L/pulse meter, a village inlet.

Demand is generated minute by minute (L/h averaged over the minute), integrated into the meter's
running total and quantized to the meter's step, then sampled like the runtime samples a meter.
`model_flows` draws it from the simulated world's own water model (drivers/sim/water.py: cistern
refills and flushes at night, night-to-night variation), the same physics the agent's HIL worlds
run on; `busy_nights` and `night_uses_in_windows` read that world's ground truth, and
`nights_to_alarm` states the CUSUM design of the controller's docstring, so tests derive what they
expect from the world and the config, not from the code under test.
A small runner feeds those samples to a LeakController the way the runtime does (decide every
sample, the nightly job at the night's end).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from drivers.sim.water import MeterModel
from drivers.sim.world_spec import BurstSpec, LeakSpec, MeterSpec
from edge.config.model import DeviceConfig
from edge.controllers.base import Decision, SensorInput
from edge.controllers.events import Event
from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.controller import LeakController
from edge.controllers.leak.policy_config import ValvePolicyConfig
from edge.controllers.leak.state import LeakState
from edge.controllers.overrides import Override

TZ = ZoneInfo("Europe/Paris")
DEVICE = DeviceConfig(id="mairie", name="", latitude=45.2, longitude=5.7, timezone="Europe/Paris")
#: A Monday, local midnight.
START = datetime(2026, 1, 5, tzinfo=TZ).astimezone(UTC)
INLET_MNF_LPH = 400.0
#: The stream the simulated world draws its first meter's water use from (drivers/sim/world.py).
WORLD_WATER_STREAM = 2000
#: A public building on a 1 L/pulse meter as the world files describe it, with realistic night use:
#: cistern top-ups (0.3 an hour, about 3 L each), one flush a night on average, and nights that differ
#: (a gamma factor of mean 1 and standard deviation 0.5 on both rates: some nights are busy).
BUILDING_NIGHT = MeterSpec(
    "water-main", "building", night_lph=0.0, day_lph=40.0, noise_pct=30.0, night_distribution="gamma",
    night_variation_pct=50.0, refills_per_hour=0.3, refill_l=3.0, flushes_per_night=1.0, flush_l=6.0,
)
#: A village inlet whose night minimum varies from night to night by a log-normal factor (SD 8 %).
INLET_NIGHT = MeterSpec(
    "inlet-meter", "village", night_lph=INLET_MNF_LPH, night_variation_pct=8.0, night_distribution="lognormal",
    day_lph=4500.0, noise_pct=10.0,
)


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


def model_flows(
    spec: MeterSpec, seed: int, days: int, leaks: Sequence[LeakSpec] = (), bursts: Sequence[BurstSpec] = ()
) -> list[float]:
    """Per-minute mean flow from START through the simulated world's water model (drivers/sim/water.py)."""
    model = MeterModel(spec, seed, WORLD_WATER_STREAM, tuple(leaks), tuple(bursts))
    start_s = START.timestamp()
    flows: list[float] = []
    offset_s = 0.0
    for minute in range(days * 1440):
        ts = start_s + 60.0 * minute
        if minute % 60 == 0:
            offset = datetime.fromtimestamp(ts, TZ).utcoffset()
            offset_s = 0.0 if offset is None else offset.total_seconds()
        flows.append(model.step(ts, ts + offset_s, False, 60.0))
    return flows


def leak_at(spec: MeterSpec, minute: int, rate_lph: float, minutes: int | None = None) -> LeakSpec:
    """A leak on the spec's meter starting `minute` minutes after START (repaired `minutes` later, if given)."""
    start = START + timedelta(minutes=minute)
    return LeakSpec(spec.sensor, start, rate_lph, None if minutes is None else start + timedelta(minutes=minutes))


def local_s(when: datetime) -> float:
    """An instant on the box's local clock, in seconds since the Unix epoch (how the world's water model counts)."""
    offset = when.astimezone(TZ).utcoffset()
    return when.timestamp() + (0.0 if offset is None else offset.total_seconds())


def busy_nights(spec: MeterSpec, seed: int, config: LeakConfig, nights: Sequence[date], margin_s: float) -> list[date]:
    """Ground truth from the world: the nights none of whose buckets is free of refills and flushes.

    A bucket counts as free when no use flows within `margin_s` of it (a sample interval: the watch spreads
    the volume between two samples over the time between them). Every other night has a bucket that only
    a leak can fill, so its minimum night flow is exactly the leak's.
    """
    model = MeterModel(spec, seed, WORLD_WATER_STREAM)
    busy = []
    for night in nights:
        end = datetime.combine(night, config.night_end, TZ)
        start = datetime.combine(night if config.night_start < config.night_end else night - timedelta(days=1),
                                 config.night_start, TZ)
        edges = range(int(local_s(start)), int(local_s(end)), config.bucket_min * 60)
        if all(model.uses_between(b0 - margin_s, b0 + config.bucket_min * 60 + margin_s) for b0 in edges):
            busy.append(night)
    return busy


def night_uses_in_windows(spec: MeterSpec, seed: int, config: LeakConfig, nights: Sequence[date]) -> int:
    """Ground truth: how many refills and flushes flowed inside these nights' windows."""
    model = MeterModel(spec, seed, WORLD_WATER_STREAM)
    count = 0
    for night in nights:
        end = datetime.combine(night, config.night_end, TZ)
        start = end - timedelta(minutes=config.night_minutes)
        count += len(model.uses_between(local_s(start), local_s(end)))
    return count


def spread_floor_lph(config: LeakConfig) -> float:
    """The design's least spread: half of max(min_detectable_lph, one meter step per bucket)."""
    return max(config.min_detectable_lph, config.meter_resolution_l * 60.0 / config.bucket_min) / 2.0


def nights_to_alarm(excess_lph: float, spread_lph: float, config: LeakConfig) -> int:
    """Nights a steady excess takes to alarm from a CUSUM at 0, by the design in the controller's docstring.

    z = excess / spread, capped at k + h/2; the CUSUM gains z - k a night and alarms at h.
    """
    z = min(excess_lph / spread_lph, config.cusum_k + config.cusum_h / 2.0)
    if z <= config.cusum_k:
        raise ValueError(f"an excess of {excess_lph} L/h (z = {z:.2f}) never raises the alarm")
    return math.ceil(config.cusum_h / (z - config.cusum_k) - 1e-9)


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


#: The valve closed on a burst until the alarm is acknowledged, never reopened by itself (tests/test_leak_policy.py
#: covers the reopening and the other policies).
CLOSED_UNTIL_ACK = ValvePolicyConfig(valve_policy="close", reopen_after_min=0)


def building_config(**changes: object) -> LeakConfig:
    """The suggested config for a public building's 1 L/pulse meter."""
    base = dict(id="leak-main", meter="water-main", meter_resolution_l=1.0, burst_lph=1500.0, burst_min=10,
                valve_relay="main-valve", policy=CLOSED_UNTIL_ACK)
    base.update(changes)
    return LeakConfig(**base)  # type: ignore[arg-type]


def inlet_config(**changes: object) -> LeakConfig:
    """A village inlet's config: never stops flowing, so no continuous-flow check."""
    base = dict(id="leak-inlet", meter="inlet", meter_resolution_l=10.0, continuous_flow=False,
                burst_lph=12000.0, night_burst_lph=3000.0, valve_relay="inlet-valve", policy=CLOSED_UNTIL_ACK)
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
