"""A heating zone with two thermometers, and a blind zone's duty cycle from its outdoor thermometer.

Oracles from the config in each test: frost protection below frost_c on the lower reading; the
thermostat on the main thermometer; a "disagree" fault once the two differ by more than
disagree_margin_c for disagree_after_s, cleared when they agree; blind, the heater is on for
L (frost_c + frost_margin_c - outdoor) / P of each period, P / L being the lift the state holds.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from edge.config.model import DeviceConfig
from edge.controllers.base import Decision, SensorInput
from edge.controllers.heating.config import HeatingConfig
from edge.controllers.heating.controller import HeatingController, HeatingState

DEVICE = DeviceConfig("chateau-deau", "Water tower", 45.187, 5.726, "Europe/Paris")
MAIN, SECOND, OUTDOOR = "cab-temp.temperature_c", "cab-climate.temperature_c", "outdoor-temp.temperature_c"
START = datetime(2026, 2, 2, 6, 0, tzinfo=UTC)


def _config(**changes: object) -> HeatingConfig:
    base = HeatingConfig("cabinet", "cabinet-heater", "cab-temp", comfort_c=5.0, eco_c=5.0, frost_c=5.0,
                         second_thermometer="cab-climate", outdoor_thermometer="outdoor-temp",
                         min_on_s=0.0, min_off_s=0.0)
    return replace(base, **changes)


def _inputs(now: datetime, main: float | None, second: float | None, outdoor: float | None = None) -> dict:
    return {key: SensorInput(v, now, v is not None) for key, v in ((MAIN, main), (SECOND, second), (OUTDOOR, outdoor))}


def _run(controller: HeatingController, state: HeatingState, now: datetime, main: float | None,
         second: float | None, outdoor: float | None = None) -> Decision[HeatingState]:
    return controller.decide(state, _inputs(now, main, second, outdoor), {}, now, starting=False)


def test_heating_zone_follows_both_thermometers_and_the_outdoor_one() -> None:
    assert HeatingController(_config(), DEVICE).inputs == (MAIN, SECOND, OUTDOOR)


def test_heating_frost_protection_follows_the_lower_of_two_thermometers() -> None:
    controller = HeatingController(_config(), DEVICE)
    first = controller.decide(controller.initial_state(), _inputs(START, 9.0, 4.0), {}, START, starting=True)
    # The main one says 9 °C (no heat wanted at 5 °C); the second 4 °C, below frost_c: frost protection heats.
    assert (first.state.mode, first.commands[0].on) == ("frost", True)
    assert "4.0 °C below 5.0 °C" in first.state.reason


def test_heating_two_thermometers_disagreeing_beyond_the_margin_is_a_fault_naming_both_then_cleared() -> None:
    controller = HeatingController(_config(disagree_margin_c=3.0, disagree_after_s=1800.0), DEVICE)
    state = controller.decide(controller.initial_state(), _inputs(START, 12.0, 8.9), {}, START, starting=True).state
    faults = []
    for minute in range(1, 61):  # 3.1 °C apart from START on
        decision = _run(controller, state, START + timedelta(minutes=minute), 12.0, 8.9)
        state = decision.state
        faults += [(minute, e) for e in decision.events if e.kind == "fault"]
    assert [m for m, _ in faults] == [30]
    (_, fault), = faults
    assert fault.source == "cabinet" and fault.data["code"] == "disagree"
    assert fault.data["sensors"] == ["cab-temp", "cab-climate"]
    assert "cab-temp and cab-climate" in fault.reason
    back = _run(controller, state, START + timedelta(minutes=61), 12.0, 9.0)  # exactly 3 °C apart: within
    assert [e.kind for e in back.events if e.kind.startswith("fault")] == ["fault_cleared"]


def test_heating_two_thermometers_within_the_margin_raise_nothing() -> None:
    controller = HeatingController(_config(disagree_margin_c=3.0, disagree_after_s=1800.0), DEVICE)
    state = controller.decide(controller.initial_state(), _inputs(START, 12.0, 9.0), {}, START, starting=True).state
    for minute in range(1, 240):
        decision = _run(controller, state, START + timedelta(minutes=minute), 12.0, 9.0)
        state = decision.state
        assert not [e for e in decision.events if e.kind.startswith("fault")]


def test_heating_one_thermometer_left_keeps_the_thermostat_out_of_fallback() -> None:
    controller = HeatingController(_config(), DEVICE)
    decision = controller.decide(controller.initial_state(), _inputs(START, None, 4.0), {}, START, starting=True)
    assert decision.state.mode == "frost" and not decision.state.fallback


def _blind_on_minutes(lift_k: float, outdoor_c: float | None) -> int:
    controller = HeatingController(_config(frost_margin_c=3.0, design_outdoor_c=-25.0), DEVICE)
    hour = datetime(2026, 2, 2, 6, 0, tzinfo=UTC)
    state = replace(controller.initial_state(), lift_k=lift_k, lift_samples=5)
    on = 0
    for minute in range(60):
        now = hour + timedelta(minutes=minute)
        decision = controller.decide(state, _inputs(now, None, None, outdoor_c), {}, now, starting=minute == 0)
        state = decision.state
        assert state.mode == "fallback"
        on += decision.commands[0].on is True
    return on


def test_heating_blind_duty_cycle_holds_frost_plus_margin_from_the_outdoor_reading() -> None:
    # A 500 W heater against 12 W/K: lift 41.7 K. At -20 °C outside, 8 °C needs 12 x 28 / 500 = 67.2 % of each hour.
    on = _blind_on_minutes(500.0 / 12.0, -20.0)
    assert 0.672 * 60 <= on <= 0.672 * 60 + 1
    # Without an outdoor reading, the coldest credible -25 °C: 12 x 33 / 500 = 79.2 %.
    on = _blind_on_minutes(500.0 / 12.0, None)
    assert 0.792 * 60 <= on <= 0.792 * 60 + 1


def test_heating_blind_frost_only_zone_with_nothing_learned_heats_all_the_time() -> None:
    controller = HeatingController(_config(), DEVICE)
    decision = controller.decide(controller.initial_state(), _inputs(START, None, None, -20.0), {}, START,
                                 starting=True)
    assert decision.state.mode == "fallback" and decision.commands[0].on is True
    assert "always on" in decision.state.reason


def test_heating_frost_only_is_a_zone_never_asking_more_than_a_few_degrees_above_frost() -> None:
    assert _config().frost_only  # 5 / 5 / 5 °C, no schedule
    assert replace(_config(), comfort_c=6.0, eco_c=6.0, frost_c=4.0).frost_only  # the inlet's cabinet
    assert not replace(_config(), comfort_c=16.0, eco_c=16.0).frost_only  # a room held at 16 °C
    assert not replace(_config(), comfort_c=8.5, eco_c=8.5).frost_only  # 3.5 °C above frost_c: beyond the margin
