"""Street-lighting decisions: dusk and dawn by lux, astronomical fallback, cut-off, overrides, restarts."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.config.model import DeviceConfig
from edge.controllers.base import Decision, SensorInput
from edge.controllers.lighting.config import (
    CutoffException,
    CutoffSchedule,
    LightingConfig,
    parse_window,
)
from edge.controllers.lighting.controller import LightingController, LightingState
from edge.controllers.overrides import Override
from edge.controllers.sun import SunCalendar

PARIS = ZoneInfo("Europe/Paris")
DEVICE = DeviceConfig("saint-aubin-mairie", "Mairie", 45.187, 5.726, "Europe/Paris")
LUX = "lux-roof.illuminance_lx"
RELAY = "street-lights"
WEEKDAY_CUTOFF = parse_window("23:00-05:30")
SATURDAY_CUTOFF = parse_window("00:30-05:30")


def _config(**changes: object) -> LightingConfig:
    cutoff = CutoffSchedule((WEEKDAY_CUTOFF,) * 5 + (SATURDAY_CUTOFF, WEEKDAY_CUTOFF))
    # The lux rules alone, on readings written by hand (a constant 1 lx all day, headlights at night):
    # the sensor is believed whatever the sun says (that judgement: test_lighting_trust*.py).
    base = LightingConfig("street-main", RELAY, "lux-roof", cutoff=cutoff, lux_checks=False)
    return replace(base, **changes)


def _local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def _lux(value: float | None, at: datetime) -> dict[str, SensorInput]:
    if value is None:
        return {LUX: SensorInput(None, at, False)}
    return {LUX: SensorInput(value, at, True)}


def _run(
    controller: LightingController,
    start: datetime,
    end: datetime,
    lux: Callable[[datetime], float | None],
    *,
    step_s: float = 60.0,
    state: LightingState | None = None,
    overrides: Mapping[str, Override] | None = None,
) -> list[tuple[datetime, Decision[LightingState]]]:
    """Call decide every step from start (starting=True when no state is given) to end."""
    out: list[tuple[datetime, Decision[LightingState]]] = []
    starting = state is None
    state = controller.initial_state() if state is None else state
    now = start
    while now <= end:
        decision = controller.decide(state, _lux(lux(now), now), overrides or {}, now, starting=starting)
        out.append((now, decision))
        state, starting = decision.state, False
        now += timedelta(seconds=step_s)
    return out


def _switches(run: list[tuple[datetime, Decision[LightingState]]]) -> list[tuple[datetime, bool | None]]:
    """The times the relay command changed, and to what."""
    changes: list[tuple[datetime, bool | None]] = []
    last: object = object()
    for now, decision in run:
        on = decision.commands[0].on
        if on != last:
            changes.append((now, on))
            last = on
    return changes


def test_lighting_dusk_on_and_dawn_off_after_the_confirmation_delay() -> None:
    controller = LightingController(_config(cutoff=CutoffSchedule()), DEVICE)
    dusk = _local(2026, 1, 15, 17, 20)
    dawn = _local(2026, 1, 16, 8, 0)

    def lux(now: datetime) -> float:
        return 5.0 if dusk <= now < dawn else 400.0

    run = _run(controller, _local(2026, 1, 15, 16, 0), _local(2026, 1, 16, 9, 0), lux)
    assert _switches(run) == [
        (_local(2026, 1, 15, 16, 0), False),
        (dusk + timedelta(minutes=3), True),
        (dawn + timedelta(minutes=3), False),
    ]
    events = {now: d.events for now, d in run if d.events}
    (on_event,) = events[dusk + timedelta(minutes=3)]
    assert on_event.kind == "decision"
    assert on_event.reason == "lux 5.0 lx below 30 lx for 3 min"
    assert on_event.data == {"relay": RELAY, "on": True, "mode": "lux", "lux": 5.0}
    assert events[dawn + timedelta(minutes=3)][0].reason == "lux 400 lx above 60 lx for 3 min"


def test_lighting_ignores_a_passing_cloud_or_headlights() -> None:
    controller = LightingController(_config(cutoff=CutoffSchedule()), DEVICE)
    cloud = (_local(2026, 1, 15, 14, 0), _local(2026, 1, 15, 14, 2))
    headlights = (_local(2026, 1, 15, 21, 0), _local(2026, 1, 15, 21, 2))

    def lux(now: datetime) -> float:
        if cloud[0] <= now < cloud[1]:
            return 12.0
        if headlights[0] <= now < headlights[1]:
            return 900.0
        return 300.0 if now < _local(2026, 1, 15, 17, 30) else 2.0

    run = _run(controller, _local(2026, 1, 15, 13, 0), _local(2026, 1, 15, 22, 0), lux)
    assert [on for _, on in _switches(run)] == [False, True]
    pending = next(d.state for now, d in run if now == headlights[0] + timedelta(minutes=1))
    assert pending.on is True
    assert pending.mode == "lux"
    assert "lux 900 lx above 60 lx for 60 s, confirming over 3 min" in pending.reason


def test_lighting_keeps_its_verdict_between_the_two_thresholds() -> None:
    controller = LightingController(_config(cutoff=CutoffSchedule()), DEVICE)
    start = _local(2026, 1, 15, 17, 0)
    switch = start + timedelta(hours=1)
    run = _run(controller, start, start + timedelta(hours=2), lambda now: 10.0 if now < switch else 45.0)
    assert [on for _, on in _switches(run)] == [True]


def test_lighting_storm_at_noon_does_not_light_the_village() -> None:
    controller = LightingController(_config(), DEVICE)
    run = _run(controller, _local(2026, 7, 3, 11, 0), _local(2026, 7, 3, 15, 0), lambda now: 2500.0, step_s=10)
    assert {d.commands[0].on for _, d in run} == {False}


def test_lighting_cutoff_window_holds_and_ends_on_time() -> None:
    controller = LightingController(_config(), DEVICE)
    run = _run(controller, _local(2026, 1, 15, 18, 0), _local(2026, 1, 16, 9, 0), lambda now: 1.0)
    # Thursday 15 January 2026: on at dusk, off for the night's cut-off, on again until day.
    assert [(now.astimezone(PARIS).strftime("%H:%M"), on) for now, on in _switches(run)] == [
        ("18:00", True),
        ("23:00", False),
        ("05:30", True),
    ]
    at_midnight = next(d for now, d in run if now == _local(2026, 1, 16, 0, 0))
    assert at_midnight.state.mode == "cut-off"
    assert at_midnight.state.reason == "cut-off 23:00-05:30 (Thursday night)"
    assert at_midnight.commands[0].reason == at_midnight.state.reason


def test_lighting_saturday_night_cutoff_starts_after_midnight() -> None:
    controller = LightingController(_config(), DEVICE)
    run = _run(controller, _local(2026, 1, 17, 22, 0), _local(2026, 1, 18, 6, 0), lambda now: 1.0)
    assert [(now.astimezone(PARIS).strftime("%a %H:%M"), on) for now, on in _switches(run)] == [
        ("Sat 22:00", True),
        ("Sun 00:30", False),
        ("Sun 05:30", True),
    ]
    at_one = next(d for now, d in run if now == _local(2026, 1, 18, 1, 0))
    assert at_one.state.reason == "cut-off 00:30-05:30 (Saturday night)"


def test_lighting_dated_exception_keeps_the_village_lit_on_14_july() -> None:
    fete = CutoffException(date(2026, 7, 14), None)
    late = CutoffException(date(2026, 7, 13), parse_window("01:30-05:00"))
    config = _config()
    controller = LightingController(replace(config, cutoff=replace(config.cutoff, exceptions=(fete, late))), DEVICE)
    run = _run(controller, _local(2026, 7, 13, 22, 0), _local(2026, 7, 15, 5, 0), lambda now: 1.0, step_s=300)
    assert [(now.astimezone(PARIS).strftime("%d %H:%M"), on) for now, on in _switches(run)] == [
        ("13 22:00", True),
        ("14 01:30", False),
        ("14 05:00", True),
    ]
    at_two = next(d for now, d in run if now == _local(2026, 7, 14, 2, 0))
    assert at_two.state.reason == "cut-off 01:30-05:00 (exception for the night of 2026-07-13)"


def test_lighting_lux_sensor_unplugged_falls_back_to_the_astronomical_clock() -> None:
    controller = LightingController(_config(), DEVICE)
    sunset = SunCalendar.for_device(DEVICE).times(date(2026, 1, 15)).sunset
    assert sunset is not None
    unplugged = _local(2026, 1, 15, 15, 0)
    run = _run(
        controller, _local(2026, 1, 15, 14, 0), _local(2026, 1, 15, 19, 0),
        lambda now: None if now >= unplugged else 5000.0,
    )
    switches = _switches(run)
    assert [on for _, on in switches] == [False, True]
    assert abs(switches[1][0] - sunset) <= timedelta(minutes=10)
    fallback = [e for _, d in run for e in d.events if e.kind == "fallback"]
    assert len(fallback) == 1
    assert fallback[0].data == {"relay": RELAY, "active": True, "sensor": "lux-roof"}
    assert fallback[0].reason.startswith("lux sensor lux-roof faulted: astronomical clock, day until sunset ")
    lit = next(d for now, d in run if now == switches[1][0])
    local_sunset = sunset.astimezone(PARIS).strftime("%H:%M")
    assert lit.state.mode == "astronomical"
    assert lit.state.reason == f"lux sensor faulted: astronomical clock, sunset {local_sunset} +0 min"


def test_lighting_astronomical_clock_applies_the_offsets() -> None:
    controller = LightingController(_config(sunset_offset_min=20.0, sunrise_offset_min=-15.0), DEVICE)
    times = SunCalendar.for_device(DEVICE).times(date(2026, 1, 15))
    assert times.sunset is not None
    run = _run(controller, _local(2026, 1, 15, 16, 0), _local(2026, 1, 15, 19, 0), lambda now: None)
    on_at = _switches(run)[1][0]
    assert times.sunset + timedelta(minutes=20) <= on_at < times.sunset + timedelta(minutes=21)
    assert run[-1][1].state.reason.endswith(" +20 min")


def test_lighting_without_a_lux_sensor_runs_on_the_astronomical_clock() -> None:
    controller = LightingController(_config(lux_sensor=None, cutoff=CutoffSchedule()), DEVICE)
    assert controller.inputs == ()
    decision = controller.decide(controller.initial_state(), {}, {}, _local(2026, 1, 15, 6, 0), starting=True)
    assert decision.commands[0].on is True
    assert decision.state.reason.startswith("astronomical clock, night until sunrise ")
    assert not [e for e in decision.events if e.kind == "fallback"]


def test_lighting_sensor_back_resumes_lux_control_without_a_jump() -> None:
    controller = LightingController(_config(cutoff=CutoffSchedule()), DEVICE)
    back = _local(2026, 1, 15, 20, 0)
    run = _run(controller, _local(2026, 1, 15, 16, 0), _local(2026, 1, 15, 21, 0),
               lambda now: 2.0 if now >= back else None)
    assert [on for _, on in _switches(run)] == [False, True]
    resumed = next(d for now, d in run if now == back)
    assert [e.data["active"] for e in resumed.events if e.kind == "fallback"] == [False]
    assert resumed.state.mode == "lux"
    assert resumed.state.reason == "lux 2.0 lx below 30 lx (lux sensor back)"


def test_lighting_override_holds_until_it_expires_then_says_so_once() -> None:
    controller = LightingController(_config(), DEVICE)
    until = _local(2026, 7, 15, 2, 0)
    fete = Override(RELAY, True, until, _local(2026, 7, 14, 20, 0), by="technician", reason="")
    run = _run(controller, _local(2026, 7, 14, 22, 0), _local(2026, 7, 15, 4, 0), lambda now: 0.5,
               overrides={RELAY: fete})
    assert [(now.astimezone(PARIS).strftime("%H:%M"), on) for now, on in _switches(run)] == [
        ("22:00", True),
        ("02:00", False),
    ]
    first = run[0][1]
    assert first.state.mode == "override"
    assert first.state.reason == "override on by technician until 02:00"
    applied = [e.reason for e in first.events if e.kind == "override"]
    assert applied == ["override on by technician until 02:00: applied"]
    expired = [(now, e) for now, d in run for e in d.events if e.kind == "override" and e.data["expired"]]
    assert len(expired) == 1
    assert expired[0][0] == until
    assert all(d.state.mode == "cut-off" for now, d in run if now >= until)


def test_lighting_minimum_times_hold_back_a_quick_change() -> None:
    controller = LightingController(_config(confirm_s=0.0, cutoff=CutoffSchedule()), DEVICE)
    start = _local(2026, 1, 15, 17, 0)
    run = _run(controller, start, start + timedelta(minutes=12),
               lambda now: 5.0 if now < start + timedelta(minutes=1) else 500.0)
    assert _switches(run) == [(start, True), (start + timedelta(minutes=5), False)]
    held = run[2][1]
    assert held.commands[0].on is True
    assert held.state.reason == "lux 500 lx above 60 lx for 0 s; held on for its minimum on time (3 min left)"


def test_lighting_restart_in_the_cutoff_comes_back_off() -> None:
    controller = LightingController(_config(), DEVICE)
    before = _run(controller, _local(2026, 1, 15, 21, 0), _local(2026, 1, 15, 22, 0), lambda now: 1.0)
    killed = before[-1][1].state
    assert killed.on is True
    restored = controller.state_from_dict(json.loads(json.dumps(controller.state_to_dict(killed))))
    now = _local(2026, 1, 15, 23, 30)
    decision = controller.decide(restored, _lux(1.0, now), {}, now, starting=True)
    assert decision.commands[0].on is False
    assert decision.state.mode == "cut-off"
    assert [e.kind for e in decision.events] == ["decision"]


def test_lighting_restart_before_dawn_in_winter_comes_back_on_at_once() -> None:
    controller = LightingController(_config(), DEVICE)
    at_cutoff = controller.decide(controller.initial_state(), _lux(1.0, _local(2026, 1, 16, 3)), {},
                                  _local(2026, 1, 16, 3), starting=True).state
    assert at_cutoff.on is False
    now = _local(2026, 1, 16, 5, 45)
    by_lux = controller.decide(at_cutoff, _lux(2.0, now), {}, now, starting=True)
    assert by_lux.commands[0].on is True
    assert by_lux.state.reason == "lux 2.0 lx below 30 lx at start"
    by_sun = controller.decide(at_cutoff, _lux(None, now), {}, now, starting=True)
    assert by_sun.commands[0].on is True
    assert by_sun.state.mode == "astronomical"
    assert by_sun.state.reason.startswith("lux sensor faulted: astronomical clock, night until sunrise ")


def test_lighting_start_between_thresholds_asks_the_sun() -> None:
    controller = LightingController(_config(cutoff=CutoffSchedule()), DEVICE)
    evening = controller.decide(controller.initial_state(), _lux(45.0, _local(2026, 1, 15, 19)), {},
                                _local(2026, 1, 15, 19), starting=True)
    afternoon = controller.decide(controller.initial_state(), _lux(45.0, _local(2026, 1, 15, 15)), {},
                                  _local(2026, 1, 15, 15), starting=True)
    assert (evening.commands[0].on, afternoon.commands[0].on) == (True, False)
    assert evening.state.reason == "lux 45 lx between 30 and 60 lx at start, astronomical clock says night"


def test_lighting_unset_clock_without_lux_goes_to_the_safe_state() -> None:
    controller = LightingController(_config(), DEVICE)
    boot = datetime(1970, 1, 1, 0, 1, tzinfo=UTC)
    blind = controller.decide(controller.initial_state(), _lux(None, boot), {}, boot, starting=True)
    assert blind.commands[0].on is None
    assert blind.state.mode == "safe"
    by_lux = controller.decide(controller.initial_state(), _lux(3.0, boot), {}, boot, starting=True)
    assert (by_lux.commands[0].on, by_lux.state.mode) == (True, "lux")


def test_lighting_polar_night_keeps_the_lights_on_at_noon() -> None:
    svalbard = DeviceConfig("lyr", "Longyearbyen", 78.22, 15.65, "Arctic/Longyearbyen")
    controller = LightingController(_config(cutoff=CutoffSchedule()), svalbard)
    noon = datetime(2026, 12, 21, 11, 0, tzinfo=UTC)
    decision = controller.decide(controller.initial_state(), _lux(None, noon), {}, noon, starting=True)
    assert decision.commands[0].on is True
    assert decision.state.reason == "lux sensor faulted: astronomical clock, polar night"


def test_lighting_cutoff_follows_local_time_across_the_clock_change() -> None:
    controller = LightingController(_config(), DEVICE)
    # Night of Saturday 28 March 2026: clocks go forward at 02:00; the cut-off still ends at 05:30 local.
    run = _run(controller, _local(2026, 3, 28, 22, 0), _local(2026, 3, 29, 7, 0), lambda now: 1.0)
    assert [(now.astimezone(PARIS).strftime("%H:%M"), on) for now, on in _switches(run)] == [
        ("22:00", True),
        ("00:30", False),
        ("05:30", True),
    ]


def test_lighting_state_is_json_ready_and_names_mode_and_reason() -> None:
    controller = LightingController(_config(), DEVICE)
    assert controller.relays == (RELAY,)
    assert controller.inputs == (LUX,)
    assert controller.jobs == ()
    fresh = controller.state_to_dict(controller.initial_state())
    assert (fresh["mode"], fresh["reason"]) == ("", "not decided yet")
    run = _run(controller, _local(2026, 1, 15, 17, 0), _local(2026, 1, 15, 17, 10), lambda now: 80.0)
    state = run[-1][1].state
    data = json.loads(json.dumps(controller.state_to_dict(state)))
    assert data["mode"] == "lux"
    assert data["reason"] == state.reason
    assert controller.state_from_dict(data) == state
    assert controller.state_from_dict({"mode": "lux", "unknown": 1}).mode == "lux"


def test_lighting_unchanged_call_keeps_the_same_state_and_says_nothing() -> None:
    controller = LightingController(_config(), DEVICE)
    now = _local(2026, 1, 15, 14, 0)
    first = controller.decide(controller.initial_state(), _lux(400.0, now), {}, now, starting=True)
    later = now + timedelta(minutes=1)
    second = controller.decide(first.state, _lux(420.0, later), {}, later)
    assert second.state is first.state
    assert second.events == ()
    again = now + timedelta(minutes=2)
    third = controller.decide(second.state, _lux(380.0, again), {}, again)
    assert third is second
    fresh = LightingController(_config(), DEVICE)
    assert fresh.decide(first.state, _lux(380.0, again), {}, again) == third
