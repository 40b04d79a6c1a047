"""Heating decisions a mutation run (bench/mutation.py) found untested: exact band edges, texts, events.

Oracles written out here from the README and the config in each test: heat below setpoint -
hysteresis, stop above setpoint + hysteresis, keep the last wish in between (edges included);
frost protection below frost_c until above frost_c + hysteresis_c; a temperature older than
stale_after_s is never used; the blind duty cycle is on for fallback_duty of each
fallback_period_s, aligned on the epoch (so on whole UTC hours for one hour); a preheat starts the
thermostat afresh; a heating run cut by a restart teaches nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.config.model import DeviceConfig
from edge.controllers.base import Decision, SensorInput
from edge.controllers.heating.config import ComfortPeriod, HeatingConfig, WeeklySchedule
from edge.controllers.heating.controller import (
    HeatingController,
    HeatingState,
    thermostat,
)
from edge.controllers.heating.preheat import (
    HeatingRun,
    follow_run,
    preheat_lead_s,
    preheat_starts_s,
    smooth_rate,
)
from edge.controllers.overrides import Override

PARIS = ZoneInfo("Europe/Paris")
DEVICE = DeviceConfig("saint-aubin-mairie", "Mairie", 45.187, 5.726, "Europe/Paris")
TEMP = "hall-temp.temperature_c"
GUARD = "thermometer hall-temp faulted: frost-protection duty cycle 60 % of 60 min"
OFFICE = (ComfortPeriod(8 * 60, 12 * 60), ComfortPeriod(13 * 60 + 30, 18 * 60))


def _config(**changes: object) -> HeatingConfig:
    base = HeatingConfig("hall", "hall-heating", "hall-temp", schedule=WeeklySchedule((OFFICE,) * 5 + ((), ())))
    return replace(base, **changes)


def _local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def _decide(controller: HeatingController, state: HeatingState | None, value: float | None, now: datetime, *,
            inputs: Mapping[str, SensorInput] | None = None, overrides: Mapping[str, Override] | None = None,
            starting: bool | None = None) -> Decision[HeatingState]:
    if inputs is None:
        inputs = {TEMP: SensorInput(value, now, value is not None)}
    start = state is None if starting is None else starting
    return controller.decide(state or controller.initial_state(), inputs, overrides or {}, now, starting=start)


def test_heating_band_edges_keep_the_last_wish() -> None:
    assert thermostat(18.5, 19.0, 0.5, False) is False
    assert thermostat(19.5, 19.0, 0.5, True) is True
    assert thermostat(18.49, 19.0, 0.5, False) is True


def test_heating_reason_texts_at_the_band_edges() -> None:
    controller = HeatingController(_config(), DEVICE)
    monday_9 = _local(3, 2, 9)
    low = _decide(controller, None, 18.5, monday_9)
    assert low.state.reason == "comfort (Monday 08:00-12:00): 18.5 °C within 18.5-19.5 °C, heating"
    high = _decide(controller, low.state, 19.5, monday_9 + timedelta(minutes=10))
    assert high.state.reason == "comfort (Monday 08:00-12:00): 19.5 °C within 18.5-19.5 °C, heating"
    above = _decide(controller, high.state, 19.6, monday_9 + timedelta(minutes=20))
    within = _decide(controller, above.state, 19.0, monday_9 + timedelta(minutes=30))
    assert within.state.reason == "comfort (Monday 08:00-12:00): 19.0 °C within 18.5-19.5 °C, off"


def test_heating_frost_edges() -> None:
    controller = HeatingController(_config(min_on_s=0, min_off_s=0), DEVICE)
    night = _local(3, 2, 3)
    at_frost = _decide(controller, None, 7.0, night)
    assert at_frost.state.mode == "eco" and at_frost.state.frost is False
    cold = _decide(controller, at_frost.state, 6.0, night + timedelta(minutes=10))
    assert (cold.state.mode, cold.state.reason) == ("frost", "frost protection: 6.0 °C below 7.0 °C")
    assert (cold.state.demand, cold.state.setpoint_c) == (True, 16.0)
    holding = _decide(controller, cold.state, 7.0, night + timedelta(minutes=20))
    assert (holding.state.mode, holding.state.reason) == ("frost", "frost protection: 7.0 °C, heating up to 7.5 °C")
    out = _decide(controller, holding.state, 7.5, night + timedelta(minutes=30))
    assert out.state.mode == "eco" and out.state.frost is False


def test_heating_decision_and_override_events_name_the_zone() -> None:
    controller = HeatingController(_config(), DEVICE)
    monday_9 = _local(3, 2, 9)
    first = _decide(controller, None, 17.0, monday_9)
    (event,) = [e for e in first.events if e.kind == "decision"]
    assert (event.source, event.reason) == ("hall", "comfort (Monday 08:00-12:00): 17.0 °C below 18.5 °C")
    assert event.data == {"relay": "hall-heating", "on": True, "mode": "comfort", "temperature_c": 17.0,
                          "setpoint_c": 19.0}
    off = Override("hall-heating", False, monday_9 + timedelta(hours=2), monday_9, by="technician", reason="")
    overridden = _decide(controller, first.state, 17.0, monday_9 + timedelta(minutes=10), overrides={"hall-heating": off})
    assert overridden.state.mode == "override" and overridden.state.override_key == off.key
    assert {e.source for e in overridden.events} == {"hall"}


def test_heating_unhealthy_or_missing_thermometer_is_blind() -> None:
    controller = HeatingController(_config(), DEVICE)
    now = _local(3, 2, 9)
    sick = _decide(controller, None, None, now, inputs={TEMP: SensorInput(18.0, now, False)})
    assert sick.state.mode == "fallback" and sick.state.temperature_c is None
    absent = _decide(controller, None, None, now, inputs={})
    assert absent.state.mode == "fallback"


def test_heating_a_temperature_exactly_stale_after_s_old_is_still_used() -> None:
    controller = HeatingController(_config(), DEVICE)
    now = _local(3, 2, 9)
    fresh = _decide(controller, None, None, now, inputs={TEMP: SensorInput(17.0, now - timedelta(seconds=900), True)})
    assert fresh.state.mode == "comfort"
    old = _decide(controller, None, None, now, inputs={TEMP: SensorInput(17.0, now - timedelta(seconds=901), True)})
    assert old.state.mode == "fallback"


def test_heating_blind_duty_cycle_texts_and_events() -> None:
    controller = HeatingController(_config(min_on_s=0, min_off_s=0), DEVICE)
    hour = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Paris
    seen = _decide(controller, None, 18.0, hour - timedelta(minutes=5))
    on = _decide(controller, seen.state, None, hour + timedelta(minutes=10))
    assert (on.state.mode, on.commands[0].on) == ("fallback", True)
    assert on.state.reason == f"{GUARD} (on until 10:36; configured fallback_duty: losses not learned yet)"
    (lost,) = [e for e in on.events if e.kind == "fallback"]
    assert (lost.source, lost.reason) == ("hall", GUARD)
    assert lost.data == {"relay": "hall-heating", "active": True, "sensor": "hall-temp"}
    off = _decide(controller, on.state, None, hour + timedelta(minutes=40))
    assert off.commands[0].on is False and off.state.reason == f"{GUARD} (off until 11:00; configured fallback_duty: losses not learned yet)"
    back = _decide(controller, off.state, 18.0, hour + timedelta(minutes=50))
    (resumed,) = [e for e in back.events if e.kind == "fallback"]
    assert resumed.reason == "thermometer hall-temp answers again: thermostat resumes"


def test_heating_full_duty_cycle_is_always_on() -> None:
    controller = HeatingController(_config(fallback_duty=1.0), DEVICE)
    decision = _decide(controller, None, None, datetime(2026, 3, 2, 9, 50, tzinfo=UTC))
    assert decision.commands[0].on is True
    assert decision.state.reason == (
        "thermometer hall-temp faulted: frost-protection duty cycle 100 % of 60 min (always on"
        "; configured fallback_duty: losses not learned yet)"
    )


def test_heating_on_override_while_blind_says_so() -> None:
    controller = HeatingController(_config(), DEVICE)
    now = datetime(2026, 3, 2, 9, 50, tzinfo=UTC)  # off part of the duty cycle
    on = Override("hall-heating", True, now + timedelta(hours=2), now, by="technician", reason="")
    decision = _decide(controller, None, None, now, overrides={"hall-heating": on})
    assert (decision.state.mode, decision.commands[0].on, decision.state.frost) == ("override", True, False)
    assert decision.state.reason.endswith(" (thermometer faulted)")


def test_heating_wall_clock_from_2025_on_follows_the_schedule() -> None:
    controller = HeatingController(_config(), DEVICE)
    decision = _decide(controller, None, 17.0, datetime(2025, 1, 1, tzinfo=UTC))  # a Wednesday, 01:00 in Paris
    assert decision.state.reason.startswith("eco (Wednesday outside comfort periods)")


def test_heating_preheat_starts_the_thermostat_afresh_then_remembers() -> None:
    # Default preheat rate 2 °C/h: from 18.8 °C to 19 °C takes 6 min, so at 07:55 on Monday it starts.
    controller = HeatingController(_config(min_on_s=0, min_off_s=0), DEVICE)
    eco = _decide(controller, None, 18.8, _local(3, 2, 7, 50))
    assert (eco.state.mode, eco.commands[0].on) == ("eco", False)
    preheat = _decide(controller, eco.state, 18.8, _local(3, 2, 7, 55))
    assert (preheat.state.mode, preheat.commands[0].on) == ("preheat", True)
    warmer = _decide(controller, preheat.state, 19.2, _local(3, 2, 7, 57))
    assert (warmer.state.mode, warmer.commands[0].on) == ("preheat", True)


def test_heating_preheat_restored_without_its_start_begins_now() -> None:
    controller = HeatingController(_config(), DEVICE)
    now = _local(3, 2, 7, 55)
    period_s = _local(3, 2, 8).timestamp()
    state = HeatingState(mode="preheat", on=True, changed_at_s=now.timestamp() - 60, demand=True,
                         preheat_for_s=period_s, preheat_since_s=None)
    decision = _decide(controller, state, 18.8, now, starting=False)
    assert decision.state.mode == "preheat" and decision.state.preheat_since_s == now.timestamp()


@pytest.mark.parametrize("restart", [True, False])
def test_heating_a_run_cut_by_a_restart_teaches_nothing(restart: bool) -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(3, 2, 3)
    first = _decide(controller, None, 15.0, start)
    assert first.commands[0].on is True
    later = _decide(controller, first.state, 16.0, start + timedelta(minutes=40), starting=restart)
    learned = (later.state.rate_samples, later.state.heating_rate_c_per_h)
    if restart:
        assert learned == (0, None)
    else:
        assert later.state.run_since_s == first.state.run_since_s  # still measuring the same run


# The zone's own rules, as HeatingConfig states them: frost_c <= eco_c <= comfort_c, a hysteresis
# above 0, a blind duty cycle in (0, 1] of a period above 0, optimum start within a day (0 turns it off)
# and a heating rate above 0. The config parser refuses such values first; these guard the type itself.
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"frost_c": 17.0}, "setpoints must satisfy frost_c <= eco_c <= comfort_c"),
        ({"eco_c": 20.0}, "setpoints must satisfy frost_c <= eco_c <= comfort_c"),
        ({"hysteresis_c": 0.0}, "hysteresis_c must be > 0"),
        ({"hysteresis_c": -0.5}, "hysteresis_c must be > 0"),
        ({"fallback_duty": 0.0}, r"fallback_duty must be in \(0, 1\] and fallback_period_s > 0"),
        ({"fallback_duty": 1.5}, r"fallback_duty must be in \(0, 1\] and fallback_period_s > 0"),
        ({"fallback_period_s": 0.0}, r"fallback_duty must be in \(0, 1\] and fallback_period_s > 0"),
        ({"max_preheat_min": -1.0}, "max_preheat_min must be within 0-1440 and preheat_rate_c_per_h > 0"),
        ({"max_preheat_min": 1441.0}, "max_preheat_min must be within 0-1440 and preheat_rate_c_per_h > 0"),
        ({"preheat_rate_c_per_h": 0.0}, "max_preheat_min must be within 0-1440 and preheat_rate_c_per_h > 0"),
    ],
)
def test_heating_config_refuses_values_outside_its_rules(changes: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        _config(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"frost_c": 16.0, "eco_c": 16.0, "comfort_c": 16.0},
        {"hysteresis_c": 0.01},
        {"fallback_duty": 1.0},
        {"fallback_duty": 0.01},
        {"fallback_period_s": 1.0},
        {"max_preheat_min": 0.0},
        {"max_preheat_min": 1440.0},
        {"preheat_rate_c_per_h": 0.01},
    ],
)
def test_heating_config_accepts_the_edges_of_its_rules(changes: dict[str, float]) -> None:
    config = _config(**changes)
    assert all(getattr(config, name) == value for name, value in changes.items())


# Learning the heating rate (heating/preheat.py's contract): the mean of the first samples, a run of
# exactly LEARN_MIN_RUN_S (30 min) teaches, a segment is measured from the temperature at its start,
# a run with no known start starts now.
def test_heating_learned_rate_starts_as_the_mean_of_the_samples() -> None:
    assert smooth_rate(19.9, 0, 0.1) == 0.1  # nothing learned yet: the sample itself, exactly
    assert smooth_rate(2.0, 1, 1.0) == pytest.approx(1.5)
    assert smooth_rate(1.5, 2, 3.0) == pytest.approx(2.0)  # (2 + 1 + 3) / 3
    assert smooth_rate(2.0, 10, 4.0) == pytest.approx(2.5)  # then the newest weighs 1/4


def test_heating_a_run_of_exactly_thirty_minutes_teaches_one_sample() -> None:
    run = HeatingRun(None, 0, 1000.0, 15.0)
    learned = follow_run(run, heating=False, temperature_c=15.5, now_s=1000.0 + 1800.0, restarted=False)
    assert (learned.rate_c_per_h, learned.samples, learned.since_s, learned.from_c) == (pytest.approx(1.0), 1, None, None)
    short = follow_run(run, heating=False, temperature_c=15.5, now_s=1000.0 + 1799.0, restarted=False)
    assert (short.rate_c_per_h, short.samples) == (None, 0)


def test_heating_a_new_sample_is_averaged_with_what_was_learned() -> None:
    # One sample of 2 °C/h learned; a full hour from 15 °C to 16 °C is 1 °C/h: the mean of both is 1.5.
    run = HeatingRun(2.0, 1, 0.0, 15.0)
    learned = follow_run(run, heating=True, temperature_c=16.0, now_s=3600.0, restarted=False)
    assert (learned.rate_c_per_h, learned.samples) == (pytest.approx(1.5), 2)
    assert (learned.since_s, learned.from_c) == (3600.0, 16.0)  # the next segment starts here


def test_heating_a_segment_is_measured_from_its_first_temperature() -> None:
    run = HeatingRun(None, 0, 1000.0, 15.0)
    # A second call in the same second, warmer already: the segment still starts at 15 °C.
    assert follow_run(run, heating=True, temperature_c=15.3, now_s=1000.0, restarted=False) == run
    assert follow_run(run, heating=True, temperature_c=15.3, now_s=1000.5, restarted=False) == run
    ended = follow_run(run, heating=True, temperature_c=16.0, now_s=1000.0 + 3600.0, restarted=False)
    assert (ended.rate_c_per_h, ended.samples) == (pytest.approx(1.0), 1)


@pytest.mark.parametrize(("since_s", "from_c"), [(None, 20.0), (500.0, None)])
def test_heating_a_run_with_no_known_start_starts_now(since_s: float | None, from_c: float | None) -> None:
    run = HeatingRun(1.2, 3, since_s, from_c)
    assert follow_run(run, heating=True, temperature_c=18.0, now_s=1000.0, restarted=False) == HeatingRun(
        1.2, 3, 1000.0, 18.0
    )
    assert follow_run(run, heating=False, temperature_c=18.0, now_s=1000.0, restarted=False) == run


def test_heating_preheat_lead_is_bounded_by_max_preheat_even_below_a_second() -> None:
    # 1 °C to gain at 2 °C/h needs 30 min; the lead allowed is what bounds it.
    assert preheat_lead_s(18.0, 19.0, 2.0, 1.0) == 1.0
    assert preheat_lead_s(18.0, 19.0, 2.0, 0.0) == 0.0
    assert preheat_lead_s(18.0, 19.0, 2.0, 7200.0) == pytest.approx(1800.0)
    assert preheat_starts_s(10_000.0, 18.0, 19.0, 2.0, 0.5) == 9_999.5
    assert preheat_starts_s(10_000.0, 18.0, 19.0, 2.0, 1.0) == 9_999.0
    assert preheat_starts_s(10_000.0, 19.0, 19.0, 2.0, 7200.0) is None
