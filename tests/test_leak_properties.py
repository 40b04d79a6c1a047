"""Leak controller properties for any sequence of meter totals, faults, overrides and acknowledgements."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from leak_synthetic import DEVICE, START, building_config

from edge.controllers.base import SensorInput
from edge.controllers.leak.controller import LeakController
from edge.controllers.overrides import Override

CONTROLLERS = {
    when: LeakController(building_config(burst_lph=1000.0, burst_min=5, zero_flow_min=30, valve_closed_when=when),
                         DEVICE)
    for when in ("on", "off")
}


@dataclass(frozen=True)
class Step:
    """One tick: time passing, water flowing, the meter's health, a technician's doings."""

    dt_s: int
    litres: float
    usable: bool
    backwards: bool
    override: tuple[bool, int, int] | None  # on, set (minutes from now, may be past), duration (minutes)
    ack: bool


steps = st.builds(
    Step,
    dt_s=st.sampled_from([10, 60, 60, 300, 900, 3600, 4 * 3600]),
    litres=st.sampled_from([0.0, 0.0, 1.0, 3.0, 50.0, 200.0, 2000.0]),
    usable=st.booleans() | st.just(True),
    backwards=st.sampled_from([True] + [False] * 9),
    override=st.none() | st.tuples(st.booleans(), st.integers(-120, 30), st.integers(1, 180)),
    ack=st.booleans(),
)


def _play(when: str, start_h: int, sequence: list[Step]) -> None:
    controller = CONTROLLERS[when]
    closed_on = when == "on"
    state = controller.initial_state()
    now = START + timedelta(hours=start_h)
    total = 1000.0
    for index, step in enumerate(sequence):
        now += timedelta(seconds=step.dt_s)
        total = 3.0 if step.backwards else total + step.litres
        reading = SensorInput(total if step.usable else None, now if step.usable else None, step.usable)
        overrides = {}
        if step.override is not None:
            on, set_min, duration_min = step.override
            set_at = now + timedelta(minutes=set_min)
            overrides["main-valve"] = Override("main-valve", on, set_at + timedelta(minutes=duration_min), set_at)
        acks = frozenset(a.key for a in state.alarms) if step.ack else frozenset()
        decision = controller.decide(state, {controller.config.input_key: reading}, overrides, now,
                                     starting=index == 0, acks=acks)
        state = decision.state
        (command,) = decision.commands
        assert command.relay == "main-valve" and command.on is not None
        closed = command.on == closed_on
        burst = state.latched("burst")
        if burst:
            assert closed, "the valve opened while a burst alarm is latched"
            assert "main-valve" in decision.interlocks
        override = overrides.get("main-valve")
        if override is not None and now >= override.until:
            assert closed == burst, "an expired override still holds"
        if override is None:
            assert closed == burst
    data = json.loads(json.dumps(controller.state_to_dict(state)))
    assert controller.state_from_dict(data) == state
    assert data["mode"] in {"learning", "watching", "alarm", "no_data"} and data["reason"]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["on", "off"]), st.integers(0, 23), st.lists(steps, min_size=1, max_size=60))
def test_leak_valve_follows_bursts_and_live_overrides_only(when: str, start_h: int, sequence: list[Step]) -> None:
    _play(when, start_h, sequence)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 23),
    st.lists(st.tuples(st.sampled_from([60, 600, 3600, 6 * 3600]), st.booleans(), st.booleans()), max_size=80),
)
def test_leak_no_alarm_while_the_meter_data_is_unusable(start_h: int, ticks: list[tuple[int, bool, bool]]) -> None:
    controller = CONTROLLERS["on"]
    state = controller.initial_state()
    now = START + timedelta(hours=start_h)
    for dt_s, job, stale_value in ticks:
        now += timedelta(seconds=dt_s)
        # Faulted: no value, or a stale value flagged unhealthy.
        reading = SensorInput(1234.0 if stale_value else None, now if stale_value else None, False)
        if job:
            decision = controller.run_job("nightly", state, now)
        else:
            decision = controller.decide(state, {controller.config.input_key: reading}, {}, now,
                                         acks=frozenset({"leak-main/burst"}))
        state = decision.state
        assert not [e for e in decision.events if e.kind == "alarm"]
        assert all(c.on is False for c in decision.commands)
    assert state.alarms == ()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([0.0, 0.0, 0.5, 1.0, 6.0]), min_size=1, max_size=200), st.integers(0, 3))
def test_leak_totals_never_going_down_never_raise_a_reset(litres: list[float], start_h: int) -> None:
    controller = CONTROLLERS["on"]
    state = controller.initial_state()
    now = START + timedelta(hours=start_h)
    total = 0.0
    for step in litres:
        now += timedelta(minutes=5)
        total += step
        decision = controller.decide(state, {controller.config.input_key: SensorInput(total, now, True)}, {}, now)
        state = decision.state
        assert not [e for e in decision.events if e.kind == "fault"]
        assert state.track.last_total_l == total
