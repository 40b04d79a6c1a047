"""Timing helpers and one-relay plumbing: survivors of a mutation run (bench/mutation.py).

Oracles written out here: durations as a technician reads them ('45 s' below two minutes, then
minutes, then hours and minutes), waits rounded up, a relay held on (or off) for its full minimum
time after a change (a clock that jumped back restarts nothing early), the latest override set
for a relay being the one that holds, each override announced once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.config.model import DeviceConfig
from edge.controllers.lighting.config import CutoffSchedule, LightingConfig
from edge.controllers.lighting.controller import LightingController, LightingState
from edge.controllers.overrides import Override, holding
from edge.controllers.timing import (
    MinimumTimes,
    SwitchStep,
    epoch_s,
    fmt_duration,
    fmt_wait,
    step_switch,
)

DEVICE = DeviceConfig("box", "Box", 45.187, 5.726, "Europe/Paris")
NOON = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(-5, "0 s"), (119, "119 s"), (120, "2 min"), (7140, "119 min"), (7200, "2 h 00 min"), (7500, "2 h 05 min"),
     (36_000, "10 h 00 min")],
)
def test_timing_durations_for_technicians(seconds: float, text: str) -> None:
    assert fmt_duration(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), [(0.3, "1 s"), (59.2, "60 s"), (60, "1 min"), (61, "2 min"), (600, "10 min")])
def test_timing_waits_round_up(seconds: float, text: str) -> None:
    assert fmt_wait(seconds) == text


def test_timing_rejects_naive_times_and_negative_minimums() -> None:
    with pytest.raises(ValueError, match="^times must be timezone-aware$"):
        epoch_s(datetime(2026, 3, 2, 12, 0))
    for on_s, off_s in ((-1, 0), (0, -1)):
        with pytest.raises(ValueError, match="^minimum times must be >= 0$"):
            MinimumTimes(on_s, off_s)


def test_timing_minimum_time_waits() -> None:
    times = MinimumTimes(on_s=300, off_s=120)
    assert times.wait_s(True, 0.0, False, 100.0) == 200.0
    assert times.wait_s(False, 0.0, True, 100.0) == 20.0
    assert times.wait_s(True, 100.0, False, 100.0) == 300.0  # just switched
    assert times.wait_s(True, 100.0, False, 50.0) == 300.0  # the clock went back: still the full time
    for current, changed_at_s, desired in ((None, 0.0, True), (True, 0.0, None), (True, 0.0, True), (True, None, False)):
        assert times.wait_s(current, changed_at_s, desired, 100.0) == 0.0
    held = step_switch(True, 0.0, False, 100.0, times)
    assert (held.on, held.changed, held.wait_s) == (True, False, 200.0)


def test_timing_the_latest_override_set_holds() -> None:
    early = Override("lights", True, NOON + timedelta(hours=5), NOON - timedelta(hours=2))
    late = Override("lights", False, NOON + timedelta(hours=1), NOON - timedelta(hours=1))
    other = Override("pump", True, NOON + timedelta(hours=1), NOON)
    assert holding({"a": early, "b": late, "c": other}, "lights", NOON) == late
    assert holding({"b": late, "a": early}, "lights", NOON) == late


def _lighting() -> LightingController:
    return LightingController(LightingConfig("street-main", "street-lights", None, cutoff=CutoffSchedule(),
                                             min_on_s=300, min_off_s=300), DEVICE)


def test_timing_a_state_without_a_change_time_gets_one() -> None:
    controller = _lighting()
    state = LightingState(mode="astronomical", reason="astronomical clock", on=False, changed_at_s=None)
    decision = controller.decide(state, {}, {}, NOON)
    assert (decision.commands[0].on, decision.state.changed_at_s) == (False, NOON.timestamp())
    assert decision.interlocks == {}


def test_timing_a_change_time_in_the_future_is_pulled_back_to_now() -> None:
    controller = _lighting()
    future = NOON.timestamp() + 600
    state = LightingState(mode="astronomical", reason="astronomical clock", on=False, changed_at_s=future)
    assert controller.decide(state, {}, {}, NOON).state.changed_at_s == NOON.timestamp()


def test_timing_an_override_is_announced_once() -> None:
    controller = _lighting()
    fete = Override("street-lights", True, NOON + timedelta(hours=3), NOON, by="technician")
    first = controller.decide(controller.initial_state(), {}, {"street-lights": fete}, NOON, starting=True)
    assert [e.kind for e in first.events if e.kind == "override"] == ["override"]
    second = controller.decide(first.state, {}, {"street-lights": fete}, NOON + timedelta(minutes=1))
    assert [e for e in second.events if e.kind == "override"] == []


def test_timing_a_relay_already_where_it_is_wanted_has_not_changed() -> None:
    times = MinimumTimes(on_s=300, off_s=300)
    assert step_switch(True, 100.0, True, 1000.0, times) == SwitchStep(True, 100.0, False, 0.0)
    assert step_switch(False, 100.0, False, 1000.0, times, immediate=True) == SwitchStep(False, 100.0, False, 0.0)
    assert step_switch(False, 900.0, True, 1000.0, MinimumTimes()) == SwitchStep(True, 1000.0, True, 0.0)
    assert step_switch(None, None, True, 1000.0, times) == SwitchStep(True, 1000.0, True, 0.0)


def test_timing_a_future_change_time_pulled_back_is_no_switching() -> None:
    # The clock went back: the relay stays as it is, and no switching is recorded for it.
    controller = _lighting()
    future = NOON.timestamp() + 600
    state = LightingState(mode="astronomical", reason="astronomical clock", on=False, changed_at_s=future)
    decision = controller.decide(state, {}, {}, NOON)
    assert decision.commands[0].on is False
    assert [e for e in decision.events if e.kind == "decision"] == []
