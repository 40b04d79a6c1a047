"""Heating decisions: weekly comfort/eco thermostat, frost protection, blind duty cycle, overrides."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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
RELAY = "hall-heating"
BLIND = "thermometer hall-temp faulted: frost-protection duty cycle"
OFFICE_HOURS = (ComfortPeriod(8 * 60, 12 * 60), ComfortPeriod(13 * 60 + 30, 18 * 60))


def _config(**changes: object) -> HeatingConfig:
    schedule = WeeklySchedule((OFFICE_HOURS,) * 5 + ((), ()))
    return replace(HeatingConfig("hall", RELAY, "hall-temp", schedule=schedule), **changes)


def _local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def _temp(value: float | None, at: datetime) -> dict[str, SensorInput]:
    return {TEMP: SensorInput(value, at, value is not None)}


def _decide(
    controller: HeatingController,
    state: HeatingState | None,
    value: float | None,
    now: datetime,
    overrides: Mapping[str, Override] | None = None,
) -> Decision[HeatingState]:
    starting = state is None
    state = controller.initial_state() if state is None else state
    return controller.decide(state, _temp(value, now), overrides or {}, now, starting=starting)


def _simulate_hall(
    controller: HeatingController,
    start: datetime,
    hours: float,
    outdoor_c: float,
    reading: Callable[[datetime, float], float | None],
    *,
    start_c: float = 16.0,
) -> tuple[float, float]:
    """A hall of 3 kW heaters, 90 W/K of losses, 12,600 kJ/K: (lowest temperature, heating share)."""
    state, temperature, lowest, on_minutes = None, start_c, start_c, 0
    minutes = int(hours * 60)
    decay = math.exp(-60.0 / (12_600_000.0 / 90.0))
    for minute in range(minutes):
        now = start + timedelta(minutes=minute)
        decision = _decide(controller, state, reading(now, temperature), now)
        state = decision.state
        heating = decision.commands[0].on is True
        on_minutes += heating
        target = outdoor_c + (3000.0 if heating else 0.0) / 90.0
        temperature = target + (temperature - target) * decay
        lowest = min(lowest, temperature)
    return lowest, on_minutes / minutes


def test_heating_thermostat_heats_below_and_stops_above_the_band() -> None:
    assert thermostat(18.4, 19.0, 0.5, None) is True
    assert thermostat(19.6, 19.0, 0.5, None) is False
    assert thermostat(19.2, 19.0, 0.5, True) is True
    assert thermostat(18.8, 19.0, 0.5, False) is False
    assert thermostat(18.8, 19.0, 0.5, None) is True


def test_heating_follows_the_weekly_schedule() -> None:
    # Without optimum start: at 12:30 a zone at 17 °C would otherwise preheat for 13:30 already.
    controller = HeatingController(_config(max_preheat_min=0), DEVICE)
    monday_morning = _decide(controller, None, 17.0, _local(2026, 1, 12, 9, 0))
    assert monday_morning.commands[0].on is True
    assert monday_morning.state.mode == "comfort"
    assert monday_morning.state.reason == "comfort (Monday 08:00-12:00): 17.0 °C below 18.5 °C"
    assert monday_morning.state.setpoint_c == 19.0
    lunch = _decide(controller, monday_morning.state, 17.0, _local(2026, 1, 12, 12, 30))
    assert lunch.commands[0].on is False
    assert lunch.state.mode == "eco"
    assert lunch.state.reason == "eco (Monday outside comfort periods): 17.0 °C above 16.5 °C"
    sunday = _decide(controller, None, 15.2, _local(2026, 1, 18, 10, 0))
    assert (sunday.commands[0].on, sunday.state.mode) == (True, "eco")


def test_heating_keeps_its_wish_inside_the_hysteresis_band() -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(2026, 1, 12, 9, 0)
    state = _decide(controller, None, 18.0, start).state
    for minute, value in enumerate((18.7, 19.2, 19.4), start=10):
        decision = _decide(controller, state, value, start + timedelta(minutes=minute))
        state = decision.state
        assert decision.commands[0].on is True
    stopped = _decide(controller, state, 19.6, start + timedelta(minutes=20))
    assert stopped.commands[0].on is False
    cooling = _decide(controller, stopped.state, 18.7, start + timedelta(minutes=30))
    assert cooling.commands[0].on is False
    assert cooling.state.reason.endswith("18.7 °C within 18.5-19.5 °C, off")


def test_heating_frost_protection_heats_until_above_frost_plus_hysteresis() -> None:
    controller = HeatingController(_config(eco_c=7.0), DEVICE)
    start = _local(2026, 1, 18, 3, 0)
    cold = _decide(controller, None, 6.4, start)
    assert cold.commands[0].on is True
    assert cold.state.mode == "frost"
    assert cold.state.reason == "frost protection: 6.4 °C below 7.0 °C"
    assert cold.interlocks == {RELAY: "frost protection: 6.4 °C below 7.0 °C"}
    warming = _decide(controller, cold.state, 7.3, start + timedelta(minutes=10))
    assert (warming.commands[0].on, warming.state.mode) == (True, "frost")
    assert warming.state.reason == "frost protection: 7.3 °C, heating up to 7.5 °C"
    safe = _decide(controller, warming.state, 7.6, start + timedelta(minutes=20))
    assert (safe.commands[0].on, safe.state.mode, dict(safe.interlocks)) == (False, "eco", {})


def test_heating_frost_waits_only_for_the_minimum_off_time() -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(2026, 1, 18, 3, 0)
    off = Override(RELAY, False, start + timedelta(hours=1), start - timedelta(minutes=1))
    stopped = _decide(controller, None, 7.2, start, {RELAY: off})
    assert (stopped.commands[0].on, stopped.state.mode) == (False, "override")
    frozen = _decide(controller, stopped.state, 6.9, start + timedelta(minutes=2), {RELAY: off})
    assert frozen.commands[0].on is False
    assert frozen.state.mode == "frost"
    assert frozen.state.reason.endswith("; held off for its minimum off time (3 min left)")
    assert RELAY in frozen.interlocks
    heating = _decide(controller, frozen.state, 6.8, start + timedelta(minutes=5), {RELAY: off})
    assert heating.commands[0].on is True


def test_heating_off_override_is_refused_below_frost_once_with_an_interlock_event() -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(2026, 1, 18, 3, 0)
    off = Override(RELAY, False, start + timedelta(hours=2), start, by="technician")
    first = _decide(controller, None, 5.0, start, {RELAY: off})
    assert first.commands[0].on is True
    interlock = [e for e in first.events if e.kind == "interlock"]
    assert [e.reason for e in interlock] == [
        "override off by technician until 05:00 refused: frost protection: 5.0 °C below 7.0 °C"
    ]
    assert first.state.reason == "frost protection: 5.0 °C below 7.0 °C; override off by technician until 05:00 refused"
    again = _decide(controller, first.state, 5.5, start + timedelta(minutes=1), {RELAY: off})
    assert again.commands[0].on is True
    assert not [e for e in again.events if e.kind == "interlock"]


def test_heating_overrides_apply_above_frost() -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(2026, 1, 12, 9, 0)
    on = Override(RELAY, True, start + timedelta(hours=2), start, reason="choir rehearsal")
    forced = _decide(controller, None, 21.0, start, {RELAY: on})
    assert forced.commands[0].on is True
    assert forced.state.mode == "override"
    assert forced.state.reason == "override on by technician until 11:00 (choir rehearsal)"
    off = Override(RELAY, False, start + timedelta(hours=2), start)
    stopped = _decide(controller, None, 12.0, start, {RELAY: off})
    assert (stopped.commands[0].on, stopped.state.mode, dict(stopped.interlocks)) == (False, "override", {})


def test_heating_expired_override_is_ignored_and_reported_once() -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(2026, 1, 12, 9, 0)
    off = Override(RELAY, False, start + timedelta(minutes=30), start)
    state = _decide(controller, None, 17.0, start, {RELAY: off}).state
    assert state.mode == "override"
    expired = _decide(controller, state, 17.0, start + timedelta(minutes=30), {RELAY: off})
    assert expired.commands[0].on is True
    assert expired.state.mode == "comfort"
    assert [e.reason for e in expired.events if e.kind == "override"] == [
        "override off by technician until 09:30 expired: back to automatic control"
    ]
    later = _decide(controller, expired.state, 17.0, start + timedelta(minutes=31), {RELAY: off})
    assert not [e for e in later.events if e.kind == "override"]


def test_heating_blind_duty_cycle_when_the_thermometer_is_unplugged() -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(2026, 1, 12, 10, 0)
    state = _decide(controller, None, 18.0, start).state
    on_minutes = []
    events = []
    for minute in range(1, 181):
        decision = _decide(controller, state, None, start + timedelta(minutes=minute))
        state = decision.state
        events += decision.events
        on_minutes.append(decision.commands[0].on)
        assert decision.interlocks == {RELAY: f"{BLIND} 60 % of 60 min"}
    # 60 % of each hour, aligned on the hour: 36 minutes on, 24 off.
    assert on_minutes[59:179].count(True) == 72
    assert on_minutes[59:95] == [True] * 36
    assert on_minutes[95:119] == [False] * 24
    assert state.mode == "fallback"
    assert state.reason == f"{BLIND} 60 % of 60 min (on until 13:36; configured fallback_duty: losses not learned yet)"
    assert [(e.kind, e.data["active"]) for e in events if e.kind == "fallback"] == [("fallback", True)]
    back = _decide(controller, state, 18.0, start + timedelta(hours=4))
    assert [e.reason for e in back.events if e.kind == "fallback"] == [
        "thermometer hall-temp answers again: thermostat resumes"
    ]


def test_heating_never_trusts_a_stale_temperature() -> None:
    controller = HeatingController(_config(), DEVICE)
    now = _local(2026, 1, 12, 10, 20)
    old = {TEMP: SensorInput(30.0, now - timedelta(minutes=16), True)}
    decision = controller.decide(controller.initial_state(), old, {}, now, starting=True)
    assert decision.state.mode == "fallback"
    assert decision.commands[0].on is True
    fresh = {TEMP: SensorInput(30.0, now - timedelta(minutes=14), True)}
    assert controller.decide(controller.initial_state(), fresh, {}, now, starting=True).state.mode == "comfort"


def test_heating_ages_a_temperature_on_the_monotonic_clock() -> None:
    controller = HeatingController(_config(), DEVICE)
    now = _local(2026, 1, 12, 10, 20)
    # NTP stepped the wall clock 3 h forward since the read, which was 20 s ago: the value is fresh.
    stepped = {TEMP: SensorInput(30.0, now - timedelta(hours=3), True, age_s=20.0)}
    assert controller.decide(controller.initial_state(), stepped, {}, now, starting=True).state.mode == "comfort"
    # 15 min + 1 s old by the monotonic clock, though the wall clock (stepped back) says just now: stale.
    old = {TEMP: SensorInput(30.0, now, True, age_s=15 * 60 + 1.0)}
    assert controller.decide(controller.initial_state(), old, {}, now, starting=True).state.mode == "fallback"


def test_heating_default_duty_cycle_keeps_a_poor_hall_above_5_c_in_a_cold_snap() -> None:
    unplugged = _config()
    lowest, share = _simulate_hall(
        HeatingController(unplugged, DEVICE), _local(2026, 2, 2, 0, 0), 96, -12.0, lambda now, t: None
    )
    assert lowest > 5.0
    assert 0.59 <= share <= 0.61
    # What a 30 % duty cycle would do to the same hall: it would freeze.
    meagre, _ = _simulate_hall(
        HeatingController(replace(unplugged, fallback_duty=0.3), DEVICE),
        _local(2026, 2, 2, 0, 0), 96, -12.0, lambda now, t: None,
    )
    assert meagre < 5.0


def test_heating_thermometer_lost_in_a_cold_snap_keeps_the_zone_above_5_c() -> None:
    controller = HeatingController(_config(), DEVICE)
    start = _local(2026, 2, 2, 0, 0)
    lost = start + timedelta(hours=32)

    def reading(now: datetime, temperature: float) -> float | None:
        return None if lost <= now < lost + timedelta(hours=48) else temperature

    lowest, _ = _simulate_hall(controller, start, 120, -12.0, reading)
    assert lowest > 5.0


def test_heating_restart_rederives_without_memory_or_minimum_times() -> None:
    controller = HeatingController(_config(), DEVICE)
    now = _local(2026, 1, 12, 9, 0)
    heating = _decide(controller, None, 18.0, now).state
    assert heating.on is True
    restored = controller.state_from_dict(json.loads(json.dumps(controller.state_to_dict(heating))))
    assert restored == heating
    later = now + timedelta(minutes=1)
    carry_on = controller.decide(restored, _temp(19.2, later), {}, later)
    assert carry_on.commands[0].on is True
    restart = controller.decide(restored, _temp(19.2, later), {}, later, starting=True)
    assert restart.commands[0].on is False
    assert [e.kind for e in restart.events] == ["decision"]


def test_heating_unset_clock_uses_eco() -> None:
    controller = HeatingController(_config(), DEVICE)
    boot = datetime(1970, 1, 1, 9, 0, tzinfo=UTC)
    decision = _decide(controller, None, 17.0, boot)
    assert (decision.commands[0].on, decision.state.mode) == (False, "eco")
    assert decision.state.reason.startswith("eco (wall clock not set): ")


def test_heating_state_names_mode_and_reason() -> None:
    controller = HeatingController(_config(), DEVICE)
    assert (controller.relays, controller.inputs, controller.jobs) == ((RELAY,), (TEMP,), ())
    fresh = controller.state_to_dict(controller.initial_state())
    assert (fresh["mode"], fresh["reason"]) == ("", "not decided yet")
    decision = _decide(controller, None, 17.0, _local(2026, 1, 12, 9, 0))
    data = controller.state_to_dict(decision.state)
    assert (data["mode"], data["reason"]) == ("comfort", decision.commands[0].reason)
    assert data["temperature_c"] == 17.0


def test_heating_unchanged_call_keeps_the_same_state_and_says_nothing() -> None:
    controller = HeatingController(_config(), DEVICE)
    now = _local(2026, 1, 18, 10, 0)
    first = _decide(controller, None, 16.2, now)
    second = _decide(controller, first.state, 16.2, now + timedelta(minutes=1))
    assert second.state is first.state
    assert second.events == ()
    third = _decide(controller, second.state, 16.2, now + timedelta(minutes=2))
    assert third is second
    fresh = HeatingController(_config(), DEVICE)
    assert fresh.decide(first.state, _temp(16.2, now + timedelta(minutes=2)), {}, now + timedelta(minutes=2)) == third
    warmer = _decide(controller, third.state, 16.3, now + timedelta(minutes=3))
    assert warmer.state.temperature_c == 16.3
    assert warmer.state.reason == "eco (Sunday outside comfort periods): 16.3 °C within 15.5-16.5 °C, off"
