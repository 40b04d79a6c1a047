"""The continuous-flow rule alone, on a building with realistic night use: a leak that never pauses is flagged
24 h after the last quiet hour before it, a building whose nights keep quiet hours never is.

The night-flow rule cannot alarm here: `warmup_nights = 60` is longer than every run (at most 12 nights), and
the detector compares a night with a baseline only once it has learned warmup_nights nights (each test checks
that every night was only learned). There is no burst threshold.

The physics, from the controller's docstring: a 1 L/pulse meter shows a flow q as one step every 1/q hours, so
a 2 L/h leak gives a step at least every 30 min and no 60 min zero-flow interval can follow its first step;
the alarm comes once 24 h of data pass without one. The last zero-flow interval before the leak ends at the
sample before the leak's first step, which comes at most 1 L / 2 L/h = 30 min after the leak starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from leak_synthetic import (
    BUILDING_NIGHT,
    DEVICE,
    START,
    WORLD_WATER_STREAM,
    Run,
    building_config,
    leak_at,
    local_s,
    meter_totals,
    model_flows,
    run,
)

from drivers.sim.water import MeterModel
from edge.controllers.leak.controller import LeakController
from edge.controllers.leak.state import LeakState

CONTINUOUS_ONLY = building_config(continuous_flow=True, warmup_nights=60, baseline_nights=60, burst_lph=None,
                                  valve_relay=None)
SAMPLE_S = 300
STEP_L = 1.0
LEAK_LPH = 2.0
#: The leak starts at 02:00 local on the 6th day, in the building's quiet night.
LEAK_START = START + timedelta(days=5, hours=2)
WINDOW = timedelta(hours=24)
SAMPLE = timedelta(seconds=SAMPLE_S)
FIRST_STEP_LATEST = timedelta(hours=STEP_L / LEAK_LPH)
#: Seeds in which no refill or flush flows within zero_flow_min + a sample before the leak or an hour after it.
QUIET_BEFORE_LEAK = (2, 3)


def _assert_only_learning(result: Run) -> None:
    """The night-flow rule could not alarm: every night was only learned."""
    assert result.alarms("night_flow") == []
    assert result.state.nights and all(n.note == "learning" for n in result.state.nights)


def _leak_run(seed: int, days: int, acks: bool = False) -> Run:
    flows = model_flows(BUILDING_NIGHT, seed, days, [leak_at(BUILDING_NIGHT, 5 * 1440 + 120, LEAK_LPH)])

    def ack_continuous(_at: datetime, state: LeakState) -> frozenset[str]:
        return frozenset(a.key for a in state.alarms if a.alarm_kind == "continuous_flow")

    controller = LeakController(CONTINUOUS_ONLY, DEVICE)
    return run(controller, meter_totals(flows, STEP_L, SAMPLE_S), acks=ack_continuous if acks else None)


def _assert_quiet_before_leak(seed: int) -> None:
    model = MeterModel(BUILDING_NIGHT, seed, WORLD_WATER_STREAM)
    at = local_s(LEAK_START)
    assert model.uses_between(at - CONTINUOUS_ONLY.zero_flow_min * 60.0 - SAMPLE_S, at + 3600.0) == ()


@pytest.mark.parametrize("seed", QUIET_BEFORE_LEAK)
def test_leak_continuous_flow_alone_flags_a_leak_24_h_after_its_start(seed: int) -> None:
    _assert_quiet_before_leak(seed)
    earliest = LEAK_START - SAMPLE + WINDOW
    latest = LEAK_START + FIRST_STEP_LATEST + WINDOW + SAMPLE
    days = 8  # the run goes on 2 days past the latest allowed alarm
    result = _leak_run(seed, days)
    assert START + timedelta(days=days) > latest + timedelta(days=1)
    alarms = result.alarms("continuous_flow")
    assert [a.data["alarm_kind"] for a in result.alarms()] == ["continuous_flow"]
    assert earliest <= alarms[0].at <= latest, alarms[0].at
    evidence = alarms[0].data["evidence"]
    since = datetime.fromisoformat(evidence["flowing_since"])
    assert LEAK_START - SAMPLE <= since <= LEAK_START + FIRST_STEP_LATEST
    assert evidence["average_flow_lph"] >= LEAK_LPH  # the leak plus the day's use
    _assert_only_learning(result)


@pytest.mark.parametrize("seed", [0, 1, 5, 7])
def test_leak_continuous_flow_building_with_quiet_night_hours_raises_nothing(seed: int) -> None:
    days = 12
    model = MeterModel(BUILDING_NIGHT, seed, WORLD_WATER_STREAM)
    total_uses = 0
    for day in range(days - 1):
        # Ground truth: each night (22:00-06:00) holds an hour and two samples without refill or flush.
        night_start = local_s(START + timedelta(days=day, hours=22))
        uses = model.uses_between(night_start, night_start + 8 * 3600.0)
        edges = [night_start, *(t for u in uses for t in (u.start_s, u.end_s)), night_start + 8 * 3600.0]
        gaps = [b - a for a, b in zip(edges[::2], edges[1::2], strict=True)]
        assert max(gaps) >= CONTINUOUS_ONLY.zero_flow_min * 60.0 + 2 * SAMPLE_S
        total_uses += len(uses)
    assert total_uses >= days, "hardly any night use: not the realistic world"
    result = run(LeakController(CONTINUOUS_ONLY, DEVICE), meter_totals(model_flows(BUILDING_NIGHT, seed, days),
                                                                        STEP_L, SAMPLE_S))
    assert result.alarms() == []
    _assert_only_learning(result)


@pytest.mark.parametrize("seed", QUIET_BEFORE_LEAK[:1])
def test_leak_acknowledged_continuous_flow_alarm_restarts_its_24_h_window(seed: int) -> None:
    _assert_quiet_before_leak(seed)
    result = _leak_run(seed, 9, acks=True)
    raised = result.alarms("continuous_flow")
    acked = [e for e in result.events if e.kind == "alarm_acked"]
    # Raised after the first 24 h, acknowledged at the next sample; the window restarts at the last sample
    # the watch had then (at most a sample earlier), so the alarm comes again 24 h later.
    assert len(raised) >= 3 and len(acked) >= 2
    for ack, again in zip(acked, raised[1:], strict=False):
        assert WINDOW - SAMPLE <= again.at - ack.at <= WINDOW + SAMPLE
    _assert_only_learning(result)
