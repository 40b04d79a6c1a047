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
    assert on.state.reason == f"{GUARD} (on until 10:36)"
    (lost,) = [e for e in on.events if e.kind == "fallback"]
    assert (lost.source, lost.reason) == ("hall", GUARD)
    assert lost.data == {"relay": "hall-heating", "active": True, "sensor": "hall-temp"}
    off = _decide(controller, on.state, None, hour + timedelta(minutes=40))
    assert off.commands[0].on is False and off.state.reason == f"{GUARD} (off until 11:00)"
    back = _decide(controller, off.state, 18.0, hour + timedelta(minutes=50))
    (resumed,) = [e for e in back.events if e.kind == "fallback"]
    assert resumed.reason == "thermometer hall-temp answers again: thermostat resumes"


def test_heating_full_duty_cycle_is_always_on() -> None:
    controller = HeatingController(_config(fallback_duty=1.0), DEVICE)
    decision = _decide(controller, None, None, datetime(2026, 3, 2, 9, 50, tzinfo=UTC))
    assert decision.commands[0].on is True
    assert decision.state.reason == "thermometer hall-temp faulted: frost-protection duty cycle 100 % of 60 min (always on)"


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
