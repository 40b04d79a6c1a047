"""The night-flow rule alone, on a building with realistic night use: leaks found in the nights the CUSUM design
says, none raised in leak-free nights, leak nights never learned, the CUSUM restarted by an acknowledgement.

Every watch here has `continuous_flow = false` and no burst threshold, so only the night-flow rule can alarm.
The world is the simulated world's water model (drivers/sim/water.py): cistern top-ups and flushes at random
night times, busier and quieter nights (a gamma night factor). Expected nights come from the design in the
controller's docstring (leak_synthetic.nights_to_alarm): the baseline of nights that each kept a bucket free of
use (checked from the world's ground truth) has median 0 and the spread floor, half of max(min_detectable_lph,
one meter step per bucket); a steady leak of q L/h then scores z = q / spread (capped at k + h/2) every night.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from leak_synthetic import (
    BUILDING_NIGHT,
    DEVICE,
    START,
    TZ,
    Run,
    building_config,
    busy_nights,
    leak_at,
    meter_totals,
    model_flows,
    night_of,
    night_uses_in_windows,
    nights_to_alarm,
    run,
    spread_floor_lph,
)

from edge.controllers.leak.config import LeakConfig
from edge.controllers.leak.controller import LeakController
from edge.controllers.leak.state import LeakState

#: Only the night-flow rule: no continuous-flow check, no burst threshold (hence no valve).
NIGHT_ONLY = building_config(continuous_flow=False, burst_lph=None, valve_relay=None)
#: The leak starts at 14:00 on this day after START: 14 warm-up nights, then 6 judged leak-free nights.
LEAK_DAY = 20
SAMPLE_S = 300
FIRST_NIGHT = START.astimezone(TZ).date()
#: Seeds whose nights all keep a bucket free of refills and flushes (checked in each test).
QUIET_SEEDS = (12, 13)


def _nights(first_day: int, count: int) -> list[date]:
    return [FIRST_NIGHT + timedelta(days=first_day + i) for i in range(count)]


def _leak_night(index: int) -> date:
    """The n-th night of the leak (1: the night after it started)."""
    return FIRST_NIGHT + timedelta(days=LEAK_DAY + index)


def _alarm_nights(result: Run) -> list[date]:
    return [date.fromisoformat(night_of(a)) for a in result.alarms("night_flow")]


def _leak_run(config: LeakConfig, seed: int, leak_lph: float, days: int, step_l: float = 1.0, acks: bool = False
              ) -> Run:
    leak = leak_at(BUILDING_NIGHT, LEAK_DAY * 1440 + 14 * 60, leak_lph)
    flows = model_flows(BUILDING_NIGHT, seed, days, [leak])

    def ack_night_flow(_at: object, state: LeakState) -> frozenset[str]:
        return frozenset(a.key for a in state.alarms if a.alarm_kind == "night_flow")

    return run(LeakController(config, DEVICE), meter_totals(flows, step_l, SAMPLE_S),
               acks=ack_night_flow if acks else None)


def _assert_quiet_world(config: LeakConfig, seed: int, days: int) -> None:
    """The world has night use in its windows, yet every night keeps a bucket free of it (ground truth)."""
    nights = _nights(0, days)
    assert busy_nights(BUILDING_NIGHT, seed, config, nights, SAMPLE_S) == []
    assert night_uses_in_windows(BUILDING_NIGHT, seed, config, nights) >= days // 2, "no realistic night use"


@pytest.mark.parametrize("seed", QUIET_SEEDS)
@pytest.mark.parametrize("leak_lph", [1.0, 2.0, 5.0])
def test_leak_night_flow_alone_finds_a_leak_in_the_nights_the_cusum_design_gives(leak_lph: float, seed: int) -> None:
    expected = nights_to_alarm(leak_lph, spread_floor_lph(NIGHT_ONLY), NIGHT_ONLY)  # 1 L/h: 4; 2 L/h and more: 2
    days = LEAK_DAY + expected + 2  # one more night judged after the latest allowed one
    _assert_quiet_world(NIGHT_ONLY, seed, days)
    result = _leak_run(NIGHT_ONLY, seed, leak_lph, days)
    assert result.state.analysed_through == _leak_night(expected + 1).isoformat(), "the run ended too early"
    assert [a.data["alarm_kind"] for a in result.alarms()] == ["night_flow"]
    assert _alarm_nights(result) == [_leak_night(expected)]
    evidence = result.alarms("night_flow")[0].data["evidence"]
    assert evidence["baseline_lph"] == 0.0 and evidence["spread_lph"] == spread_floor_lph(NIGHT_ONLY)
    assert evidence["night_flows_lph"][-1]["mnf_lph"] == pytest.approx(leak_lph)


@pytest.mark.parametrize("seed", [0, 10, 20])
def test_leak_60_leak_free_nights_of_a_realistic_building_raise_no_alarm(seed: int) -> None:
    config = building_config()  # every rule on: night flow, continuous flow, burst
    days = config.warmup_nights + 60 + 1
    # Busy nights (every bucket touched by a refill or flush) are in this world: the minimum is not always 0.
    assert len(busy_nights(BUILDING_NIGHT, seed, config, _nights(0, days), 600)) >= 5
    result = run(LeakController(config, DEVICE), meter_totals(model_flows(BUILDING_NIGHT, seed, days), 1.0, 600))
    judged = [e for e in result.events if e.kind == "job" and e.data["cusum"] is not None]
    assert len(judged) >= 60, "fewer than 60 nights were compared with the baseline"
    assert any(n.mnf_lph for n in result.state.nights), "every night read 0 L/h: no realistic night use"
    assert result.alarms() == []
    assert result.state.mode == "watching"


@pytest.mark.parametrize("seed", QUIET_SEEDS)
def test_leak_acknowledged_night_flow_alarm_restarts_the_cusum(seed: int) -> None:
    leak_nights = 12
    days = LEAK_DAY + leak_nights + 1
    interval = nights_to_alarm(2.0, spread_floor_lph(NIGHT_ONLY), NIGHT_ONLY)  # 2 nights from a CUSUM at 0
    result = _leak_run(NIGHT_ONLY, seed, 2.0, days, acks=True)
    assert result.state.analysed_through == _leak_night(leak_nights).isoformat()
    # Acknowledged at once, the alarm comes back `interval` nights later, never the next night.
    assert _alarm_nights(result) == [_leak_night(n) for n in range(interval, leak_nights + 1, interval)]
    assert len([e for e in result.events if e.kind == "alarm_acked"]) == leak_nights // interval


@pytest.mark.parametrize("seed", QUIET_SEEDS)
def test_leak_nights_of_a_small_acknowledged_leak_are_never_learned(seed: int) -> None:
    # 1 L/h: z = 2, the CUSUM is at 1 after the first night, below h/2: only the quarantine keeps it unlearned.
    leak_nights = 24
    days = LEAK_DAY + leak_nights + 1
    _assert_quiet_world(NIGHT_ONLY, seed, days)
    interval = nights_to_alarm(1.0, spread_floor_lph(NIGHT_ONLY), NIGHT_ONLY)
    result = _leak_run(NIGHT_ONLY, seed, 1.0, days, acks=True)
    assert _alarm_nights(result) == [_leak_night(n) for n in range(interval, leak_nights + 1, interval)]
    learned = [date.fromisoformat(night) for night, _ in result.state.detector.learned]
    leak_learned = [d for d in learned if d >= _leak_night(1)]
    assert learned and leak_learned == [], f"leak nights learned: {leak_learned}"
    assert all(mnf == 0.0 for _, mnf in result.state.detector.learned)


@pytest.mark.parametrize("seed", QUIET_SEEDS)
def test_leak_slow_anomaly_stops_learning_once_the_cusum_passes_half_h(seed: int) -> None:
    # A fine meter (no step): a 0.65 L/h leak scores z = 1.3 and adds 0.3 a night, so the CUSUM passes
    # h/2 on its 7th night and h on its 14th; nights wait 7 nights in quarantine, then are learned only
    # while the CUSUM is below h/2: none of the leak's nights may be learned.
    config = building_config(continuous_flow=False, burst_lph=None, valve_relay=None, meter_resolution_l=0.0)
    expected = nights_to_alarm(0.65, spread_floor_lph(config), config)
    assert expected == 14
    days = LEAK_DAY + expected + 2
    _assert_quiet_world(config, seed, days)
    result = _leak_run(config, seed, 0.65, days, step_l=0.0)
    assert _alarm_nights(result) == [_leak_night(expected)]
    learned = [date.fromisoformat(night) for night, _ in result.state.detector.learned]
    leak_learned = [d for d in learned if d >= _leak_night(1)]
    assert learned and leak_learned == [], f"leak nights learned: {leak_learned}"
