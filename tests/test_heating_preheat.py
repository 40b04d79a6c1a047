"""Optimum start: the heating rate learned from the zone's own runs, and heating early to reach comfort on time."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.config.model import DeviceConfig
from edge.controllers.base import Decision, SensorInput
from edge.controllers.heating.config import ComfortPeriod, HeatingConfig, WeeklySchedule
from edge.controllers.heating.controller import HeatingController, HeatingState
from edge.controllers.heating.preheat import (
    RATE_MAX_C_PER_H,
    RATE_MIN_C_PER_H,
    HeatingRun,
    follow_run,
    preheat_lead_s,
    preheat_starts_s,
    sample_rate_c_per_h,
    smooth_rate,
)
from edge.controllers.overrides import Override

PARIS = ZoneInfo("Europe/Paris")
DEVICE = DeviceConfig("saint-aubin-mairie", "Mairie", 45.187, 5.726, "Europe/Paris")
TEMP = "hall-temp.temperature_c"
RELAY = "hall-heating"
OFFICE = WeeklySchedule(((ComfortPeriod(8 * 60, 12 * 60), ComfortPeriod(13 * 60 + 30, 18 * 60)),) * 5 + ((), ()))
NOTHING = HeatingRun(None, 0, None, None)


def _config(**changes: object) -> HeatingConfig:
    return replace(HeatingConfig("hall", RELAY, "hall-temp", schedule=OFFICE), **changes)


def _local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def _decide(
    controller: HeatingController,
    state: HeatingState | None,
    value: float | None,
    now: datetime,
    overrides: dict[str, Override] | None = None,
) -> Decision[HeatingState]:
    inputs = {TEMP: SensorInput(value, now, value is not None)}
    starting = state is None
    state = controller.initial_state() if state is None else state
    return controller.decide(state, inputs, overrides or {}, now, starting=starting)


def test_preheat_sample_rate_is_the_rise_per_hour_within_bounds() -> None:
    assert sample_rate_c_per_h(15.0, 16.5, 3600.0) == pytest.approx(1.5)
    assert sample_rate_c_per_h(15.0, 15.5, 1800.0) == pytest.approx(1.0)
    assert sample_rate_c_per_h(15.0, 14.0, 3600.0) == RATE_MIN_C_PER_H
    assert sample_rate_c_per_h(15.0, 45.0, 1800.0) == RATE_MAX_C_PER_H


def test_preheat_smooth_rate_is_a_mean_at_first_then_follows_recent_runs() -> None:
    assert smooth_rate(None, 0, 1.2) == 1.2
    assert smooth_rate(1.2, 1, 0.8) == pytest.approx(1.0)
    assert smooth_rate(1.0, 2, 1.6) == pytest.approx(1.2)
    # From the fourth sample on, each new one weighs a quarter.
    assert smooth_rate(1.0, 3, 2.0) == pytest.approx(1.25)
    assert smooth_rate(1.0, 40, 2.0) == pytest.approx(1.25)


def test_preheat_follow_run_learns_from_runs_of_half_an_hour_or_more() -> None:
    started = follow_run(NOTHING, heating=True, temperature_c=15.0, now_s=0.0, restarted=False)
    assert started == HeatingRun(None, 0, 0.0, 15.0)
    heating = follow_run(started, heating=True, temperature_c=15.4, now_s=1200.0, restarted=False)
    assert heating is started
    stopped = follow_run(started, heating=False, temperature_c=15.6, now_s=2400.0, restarted=False)
    assert stopped.rate_c_per_h == pytest.approx(0.9)
    assert (stopped.samples, stopped.since_s, stopped.from_c) == (1, None, None)
    assert follow_run(stopped, heating=False, temperature_c=15.0, now_s=3000.0, restarted=False) is stopped
    short = follow_run(stopped, heating=True, temperature_c=15.0, now_s=3000.0, restarted=False)
    ended = follow_run(short, heating=False, temperature_c=15.5, now_s=3000.0 + 1700.0, restarted=False)
    assert ended == HeatingRun(stopped.rate_c_per_h, 1, None, None)


def test_preheat_follow_run_cuts_long_runs_into_hourly_samples() -> None:
    run = follow_run(NOTHING, heating=True, temperature_c=15.0, now_s=0.0, restarted=False)
    for minute in range(1, 151):
        run = follow_run(run, heating=True, temperature_c=15.0 + minute / 60, now_s=minute * 60.0, restarted=False)
    assert (run.rate_c_per_h, run.samples) == (pytest.approx(1.0), 2)
    assert (run.since_s, run.from_c) == (7200.0, 17.0)


def test_preheat_follow_run_learns_nothing_across_a_restart_or_a_thermometer_fault() -> None:
    run = follow_run(NOTHING, heating=True, temperature_c=15.0, now_s=0.0, restarted=False)
    restarted = follow_run(run, heating=True, temperature_c=16.0, now_s=2700.0, restarted=True)
    assert restarted == HeatingRun(None, 0, 2700.0, 16.0)
    faulted = follow_run(run, heating=True, temperature_c=None, now_s=2700.0, restarted=False)
    assert faulted == NOTHING
    back = follow_run(run, heating=True, temperature_c=15.5, now_s=-60.0, restarted=False)
    assert back == HeatingRun(None, 0, -60.0, 15.5)


def test_preheat_lead_is_the_time_to_warm_bounded_by_the_maximum() -> None:
    assert preheat_lead_s(16.0, 19.0, 2.0, 3 * 3600.0) == pytest.approx(1.5 * 3600)
    assert preheat_lead_s(12.0, 19.0, 2.0, 3 * 3600.0) == 3 * 3600.0
    assert preheat_lead_s(19.0, 19.0, 2.0, 3 * 3600.0) == 0.0
    assert preheat_lead_s(16.0, 19.0, 2.0, 0.0) == 0.0
    assert preheat_starts_s(10_000.0, 18.0, 19.0, 0.5, 3 * 3600.0) == pytest.approx(10_000.0 - 7200.0)
    assert preheat_starts_s(10_000.0, 19.2, 19.0, 0.5, 3 * 3600.0) is None


def test_heating_preheat_starts_early_enough_to_reach_comfort_at_the_period_start() -> None:
    controller = HeatingController(_config(), DEVICE)
    state = _decide(controller, None, 16.0, _local(2026, 1, 12, 5, 0)).state
    early = _decide(controller, state, 16.0, _local(2026, 1, 12, 6, 29))
    assert (early.commands[0].on, early.state.mode) == (False, "eco")
    start = _decide(controller, early.state, 16.0, _local(2026, 1, 12, 6, 30))
    assert (start.commands[0].on, start.state.mode, start.state.setpoint_c) == (True, "preheat", 19.0)
    assert start.state.reason == (
        "preheating for Monday 08:00-12:00: 16.0 °C -> 19.0 °C at 2.0 °C/h (not learned yet), started 06:30"
    )
    assert [(e.kind, e.data["mode"]) for e in start.events] == [("decision", "preheat")]
    warm = _decide(controller, start.state, 19.6, _local(2026, 1, 12, 7, 50))
    assert (warm.commands[0].on, warm.state.mode) == (False, "preheat")
    assert warm.state.reason == "preheating for Monday 08:00-12:00 (started 06:30): 19.6 °C above 19.5 °C"
    cooler = _decide(controller, warm.state, 18.2, _local(2026, 1, 12, 7, 59))
    assert (cooler.commands[0].on, cooler.state.mode) == (True, "preheat")
    assert cooler.state.reason.endswith("started 06:30")
    comfort = _decide(controller, cooler.state, 18.9, _local(2026, 1, 12, 8, 0))
    assert (comfort.commands[0].on, comfort.state.mode, comfort.state.preheat_for_s) == (True, "comfort", None)


def test_heating_preheat_is_bounded_by_max_preheat_min() -> None:
    cold = _config(eco_c=12.0)
    controller = HeatingController(cold, DEVICE)
    state = _decide(controller, None, 12.0, _local(2026, 1, 12, 4, 0)).state
    state = _decide(controller, state, 12.0, _local(2026, 1, 12, 4, 59)).state
    assert (state.on, state.mode) == (False, "eco")
    started = _decide(controller, state, 12.0, _local(2026, 1, 12, 5, 0)).state
    assert (started.on, started.mode) == (True, "preheat")
    never = HeatingController(replace(cold, max_preheat_min=0), DEVICE)
    assert _decide(never, None, 12.0, _local(2026, 1, 12, 7, 59)).state.mode == "eco"


def test_heating_learns_its_rate_from_its_own_runs_and_keeps_it_across_restarts() -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(2026, 1, 12, 9, 0)
    state = _decide(controller, None, 17.0, start).state
    minute = 0
    while state.on:
        minute += 1
        state = _decide(controller, state, 17.0 + 1.2 * minute / 60, start + timedelta(minutes=minute)).state
    assert 125 < minute < 135
    assert (state.heating_rate_c_per_h, state.rate_samples) == (pytest.approx(1.2), 2)
    restored = controller.state_from_dict(json.loads(json.dumps(controller.state_to_dict(state))))
    assert restored == state
    # Tuesday: 16.0 °C needs 2 h 30 min at 1.2 °C/h to reach 19 °C by 08:00.
    waiting = controller.decide(restored, {TEMP: SensorInput(16.0, _local(2026, 1, 13, 5, 29), True)}, {},
                                _local(2026, 1, 13, 5, 29), starting=True)
    assert waiting.state.mode == "eco"
    started = _decide(controller, waiting.state, 16.0, _local(2026, 1, 13, 5, 30))
    assert started.state.mode == "preheat"
    assert started.state.reason == "preheating for Tuesday 08:00-12:00: 16.0 °C -> 19.0 °C at 1.2 °C/h, started 05:30"


def test_heating_preheat_survives_a_restart_once_started() -> None:
    controller = HeatingController(_config(), DEVICE)
    state = _decide(controller, None, 16.0, _local(2026, 1, 12, 6, 30)).state
    assert state.mode == "preheat"
    later = _local(2026, 1, 12, 7, 30)
    restored = controller.state_from_dict(json.loads(json.dumps(controller.state_to_dict(state))))
    again = controller.decide(restored, {TEMP: SensorInput(18.5, later, True)}, {}, later, starting=True)
    assert (again.commands[0].on, again.state.mode) == (True, "preheat")
    assert again.state.reason.endswith("started 06:30")


def test_heating_never_preheats_with_a_faulted_thermometer() -> None:
    controller = HeatingController(_config(), DEVICE)
    state = _decide(controller, None, 16.0, _local(2026, 1, 12, 6, 40)).state
    assert state.mode == "preheat"
    faulted = _decide(controller, state, None, _local(2026, 1, 12, 6, 50)).state
    assert (faulted.mode, faulted.preheat_for_s) == ("fallback", None)
    assert faulted.reason.startswith("thermometer hall-temp faulted: frost-protection duty cycle")
    back = _decide(controller, faulted, 16.0, _local(2026, 1, 12, 7, 10)).state
    assert (back.on, back.mode) == (True, "preheat")
    assert back.reason.endswith("started 07:10")


def test_heating_frost_protection_and_minimum_times_hold_while_preheating() -> None:
    controller = HeatingController(_config(min_off_s=900.0), DEVICE)
    # A 25-minute run teaches nothing: the prior 2 °C/h still sets the start.
    state = _decide(controller, None, 15.0, _local(2026, 1, 12, 5, 45)).state
    assert (state.on, state.mode) == (True, "eco")
    state = _decide(controller, state, 16.6, _local(2026, 1, 12, 6, 10)).state
    assert (state.on, state.mode) == (False, "eco")
    held = _decide(controller, state, 15.6, _local(2026, 1, 12, 6, 20)).state
    assert (held.on, held.mode) == (False, "preheat")
    assert held.reason.endswith("; held off for its minimum off time (5 min left)")
    heating = _decide(controller, held, 15.6, _local(2026, 1, 12, 6, 25)).state
    assert (heating.on, heating.mode) == (True, "preheat")
    frost = _decide(controller, heating, 6.5, _local(2026, 1, 12, 6, 30))
    assert (frost.state.on, frost.state.mode) == (True, "frost")
    assert RELAY in frost.interlocks
    off = Override(RELAY, False, _local(2026, 1, 12, 9, 0), _local(2026, 1, 12, 6, 40))
    stopped = _decide(controller, frost.state, 12.0, _local(2026, 1, 12, 6, 45), {RELAY: off}).state
    assert (stopped.on, stopped.mode) == (False, "override")


def test_heating_preheat_across_the_autumn_clock_change() -> None:
    sunday = WeeklySchedule(((),) * 6 + ((ComfortPeriod(8 * 60, 12 * 60),),))
    controller = HeatingController(_config(schedule=sunday), DEVICE)
    # Sunday 25 October 2026: clocks go back at 03:00; 08:00 is then 07:00 UTC.
    state = _decide(controller, None, 16.0, datetime(2026, 10, 25, 0, 0, tzinfo=UTC)).state
    early = _decide(controller, state, 16.0, datetime(2026, 10, 25, 5, 29, tzinfo=UTC)).state
    assert early.mode == "eco"
    started = _decide(controller, early, 16.0, datetime(2026, 10, 25, 5, 30, tzinfo=UTC)).state
    assert (started.mode, started.preheat_for_s) == ("preheat", datetime(2026, 10, 25, 7, 0, tzinfo=UTC).timestamp())
    assert started.reason.endswith("started 06:30")


def _hall_period_starts(config: HeatingConfig, days: int, outdoor_c: float) -> tuple[dict[str, float], HeatingState]:
    """A hall of 3 kW heaters, 90 W/K, 12,600 kJ/K: its temperature at each weekday period start."""
    controller = HeatingController(config, DEVICE)
    start = _local(2026, 1, 12, 0, 0)
    decay = math.exp(-60.0 / (12_600_000.0 / 90.0))
    state, temperature, at_start = controller.initial_state(), 16.0, {}
    for minute in range(days * 1440):
        now = start + timedelta(minutes=minute)
        local = now.astimezone(PARIS)
        if local.weekday() < 5 and (local.hour, local.minute) in ((8, 0), (13, 30)):
            at_start[local.strftime("%a %H:%M")] = temperature
        decision = controller.decide(state, {TEMP: SensorInput(temperature, now, True)}, {}, now, starting=minute == 0)
        state = decision.state
        target = outdoor_c + (3000.0 if decision.commands[0].on else 0.0) / 90.0
        temperature = target + (temperature - target) * decay
    return at_start, state


def test_heating_slow_hall_is_at_comfort_when_periods_start_once_its_rate_is_learned() -> None:
    at_start, state = _hall_period_starts(_config(max_preheat_min=480), 5, 5.0)
    assert state.heating_rate_c_per_h is not None and 0.45 < state.heating_rate_c_per_h < 0.65
    after_monday = {k: v for k, v in at_start.items() if not k.startswith("Mon")}
    assert len(after_monday) == 8
    assert min(after_monday.values()) > 18.9
    without, _ = _hall_period_starts(_config(max_preheat_min=0), 2, 5.0)
    assert without["Tue 08:00"] < 17.0
