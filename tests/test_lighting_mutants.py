"""Street-lighting decisions a mutation run (bench/mutation.py) found untested.

Oracles written out here: the sun's geometric elevation from astral (an independent library; the
sun's centre at -0.833° is sunrise and sunset), the README's rules (astronomical clock with offsets
when the lux sensor is faulted, a night cut-off that may start the morning after its night, the
relay's safe state only when the wall clock is not set), and the reason texts a technician reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from astral import Observer
from astral import sun as astral_sun

from edge.config.model import DeviceConfig
from edge.controllers.base import Decision, SensorInput
from edge.controllers.lighting.config import (
    CutoffException,
    CutoffSchedule,
    LightingConfig,
    parse_window,
)
from edge.controllers.lighting.controller import (
    LightingController,
    LightingState,
    fmt_lx,
)

PARIS = ZoneInfo("Europe/Paris")
DEVICE = DeviceConfig("saint-aubin-mairie", "Mairie", 45.187, 5.726, "Europe/Paris")
TROMSO = DeviceConfig("tromso-skole", "Skole", 69.65, 18.96, "Europe/Oslo")
LUX = "lux-roof.illuminance_lx"


def _config(**changes: object) -> LightingConfig:
    # The threshold rules alone: the lux sensor is believed whatever the sun says (the judgement against
    # the sun and the lamps is pinned in test_lighting_trust*.py).
    base = LightingConfig("street-main", "street-lights", "lux-roof", cutoff=CutoffSchedule(), lux_checks=False)
    return replace(base, **changes)


def _decide(controller: LightingController, now: datetime, lux: float | None, state: LightingState | None = None,
            *, starting: bool = False) -> Decision[LightingState]:
    inputs: Mapping[str, SensorInput] = {LUX: SensorInput(lux, now, lux is not None)}
    return controller.decide(state or controller.initial_state(), inputs, {}, now, starting=starting)


def test_lighting_lux_is_shown_with_one_decimal_below_10_lx_only() -> None:
    assert (fmt_lx(0.44), fmt_lx(9.94), fmt_lx(10.0), fmt_lx(10.4), fmt_lx(2400.2)) == ("0.4", "9.9", "10", "10", "2400")


def test_lighting_a_wall_clock_from_2025_on_is_trusted() -> None:
    controller = LightingController(_config(), DEVICE)
    trusted = datetime(2025, 1, 1, tzinfo=UTC)
    assert _decide(controller, trusted, None, starting=True).state.mode == "astronomical"
    unset = _decide(controller, trusted - timedelta(seconds=1), None, starting=True)
    assert (unset.state.mode, unset.commands[0].on) == ("safe", None)


@pytest.mark.parametrize(
    ("local", "sun_below"),
    [
        # 14 May 2026 in Tromsø: the sun sets at 23:35 and rises again after midnight (no sunrise that date).
        (datetime(2026, 5, 14, 12, 0), False),
        (datetime(2026, 5, 14, 23, 50), True),
        # 17 May 2026: it rises at 01:20 and does not set that date.
        (datetime(2026, 5, 17, 0, 30), True),
        (datetime(2026, 5, 17, 23, 50), False),
    ],
)
def test_lighting_edge_of_the_polar_season_asks_the_sun(local: datetime, sun_below: bool) -> None:
    at = local.replace(tzinfo=ZoneInfo("Europe/Oslo")).astimezone(UTC)
    elevation = astral_sun.elevation(Observer(69.65, 18.96), at, with_refraction=False)
    assert (elevation < -0.833) is sun_below
    controller = LightingController(_config(lux_sensor=None), TROMSO)
    decision = _decide(controller, at, None, starting=True)
    word = "below" if sun_below else "above"
    assert (decision.state.mode, decision.commands[0].on) == ("astronomical", sun_below)
    assert decision.state.reason == f"astronomical clock, sun {word} the horizon"


def test_lighting_a_cut_off_may_reach_two_days_after_its_night() -> None:
    # The night of Monday 2 March 2026 has a 06:00-05:00 cut-off: 3 March 06:00 to 4 March 05:00.
    night = date(2026, 3, 2)
    cutoff = CutoffSchedule(exceptions=(CutoffException(night, parse_window("06:00-05:00")),))
    controller = LightingController(_config(cutoff=cutoff), DEVICE)
    at = datetime(2026, 3, 4, 4, 0, tzinfo=PARIS).astimezone(UTC)
    decision = _decide(controller, at, 2.0, starting=True)
    assert (decision.state.mode, decision.commands[0].on) == ("cut-off", False)
    assert decision.state.reason == "cut-off 06:00-05:00 (exception for the night of 2026-03-02)"
    later = _decide(controller, at + timedelta(hours=1, minutes=1), 2.0, starting=True)
    assert (later.state.mode, later.commands[0].on) == ("lux", True)


def _sun(day: date) -> tuple[datetime, datetime]:
    observer = Observer(45.187, 5.726)
    return (astral_sun.sunrise(observer, day, PARIS).astimezone(UTC),
            astral_sun.sunset(observer, day, PARIS).astimezone(UTC))


def test_lighting_astronomical_clock_applies_both_offsets_and_names_the_raw_times() -> None:
    day = date(2026, 1, 15)
    sunrise, sunset = _sun(day)
    controller = LightingController(_config(lux_sensor=None, sunrise_offset_min=30, sunset_offset_min=-20,
                                            min_on_s=0, min_off_s=0), DEVICE)

    def hhmm(at: datetime) -> str:
        return at.astimezone(PARIS).strftime("%H:%M")

    before = _decide(controller, sunrise + timedelta(minutes=29), None, starting=True)
    assert before.commands[0].on is True
    assert before.state.reason == f"astronomical clock, night until sunrise {hhmm(sunrise)} +30 min"
    after = _decide(controller, sunrise + timedelta(minutes=31), None, starting=True)
    assert after.commands[0].on is False
    assert after.state.reason == f"astronomical clock, day until sunset {hhmm(sunset)} -20 min"
    evening = _decide(controller, sunset - timedelta(minutes=19), None, starting=True)
    assert evening.commands[0].on is True
    assert evening.state.reason == f"astronomical clock, sunset {hhmm(sunset)} -20 min"
    assert _decide(controller, sunset - timedelta(minutes=21), None, starting=True).commands[0].on is False


def test_lighting_pending_reason_says_which_threshold_is_crossed() -> None:
    controller = LightingController(_config(), DEVICE)
    noon = datetime(2026, 1, 15, 12, 0, tzinfo=PARIS).astimezone(UTC)
    day = _decide(controller, noon, 500.0, starting=True)
    assert day.commands[0].on is False
    dimming = _decide(controller, noon + timedelta(minutes=1), 20.0, day.state)
    dimming = _decide(controller, noon + timedelta(minutes=2), 20.0, dimming.state)
    assert dimming.state.reason == "lux 500 lx above 60 lx at start; lux 20 lx below 30 lx for 60 s, confirming over 3 min"


def test_lighting_fallback_events_name_the_sensor_and_the_controller() -> None:
    controller = LightingController(_config(), DEVICE)
    dusk = datetime(2026, 1, 15, 19, 0, tzinfo=PARIS).astimezone(UTC)
    lit = _decide(controller, dusk, 2.0, starting=True)
    lost = _decide(controller, dusk + timedelta(minutes=1), None, lit.state)
    (fallback,) = [e for e in lost.events if e.kind == "fallback"]
    assert fallback.source == "street-main"
    assert fallback.reason.startswith("lux sensor lux-roof faulted: astronomical clock, sunset ")
    back = _decide(controller, dusk + timedelta(minutes=2), 2.0, lost.state)
    (resumed,) = [e for e in back.events if e.kind == "fallback"]
    assert (resumed.source, resumed.reason) == ("street-main", "lux sensor lux-roof answers again: lux control resumes")
    unset = datetime(2024, 6, 1, tzinfo=UTC)
    blind = _decide(controller, unset + timedelta(minutes=1), None, _decide(controller, unset, 2.0, starting=True).state)
    (dark,) = [e for e in blind.events if e.kind == "fallback"]
    assert dark.reason == "lux sensor lux-roof faulted and wall clock not set: relay to its safe state"


# The lux verdict at the thresholds, while the sensor is away and when it comes back. The config is the
# README's default: dark below 30 lx, light above 60 lx, each confirmed for 3 min; in between (the
# thresholds themselves included: "below" and "above" are strict) the last verdict holds.
NOON = datetime(2026, 1, 15, 12, 0, tzinfo=PARIS).astimezone(UTC)  # the sun is up in Saint-Aubin
NIGHT = datetime(2026, 1, 15, 22, 0, tzinfo=PARIS).astimezone(UTC)  # the sun has set
UNSET = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)  # a box booted without RTC nor NTP
STAY = "day by the astronomical clock while the lux sensor was faulted"
NIGHT_STAY = "night by the astronomical clock while the lux sensor was faulted"


@pytest.mark.parametrize(
    ("now", "lux", "on", "reason"),
    [
        (NOON, 30.0, False, "lux 30 lx between 30 and 60 lx at start, astronomical clock says day"),
        (NIGHT, 60.0, True, "lux 60 lx between 30 and 60 lx at start, astronomical clock says night"),
        (NOON, 29.0, True, "lux 29 lx below 30 lx at start"),
        (NIGHT, 61.0, False, "lux 61 lx above 60 lx at start"),
    ],
)
def test_lighting_a_threshold_itself_is_between_at_start(now: datetime, lux: float, on: bool, reason: str) -> None:
    decision = _decide(LightingController(_config(), DEVICE), now, lux, starting=True)
    assert (decision.state.mode, decision.commands[0].on, decision.state.reason) == ("lux", on, reason)


def test_lighting_wall_clock_not_set_reasons() -> None:
    controller = LightingController(_config(), DEVICE)
    between = _decide(controller, UNSET, 45.0, starting=True)
    assert (between.state.mode, between.commands[0].on) == ("lux", True)
    assert between.state.reason == "lux 45 lx between 30 and 60 lx at start, wall clock not set: on"
    blind = _decide(controller, UNSET, None, starting=True)
    assert (blind.state.mode, blind.commands[0].on) == ("safe", None)
    assert blind.state.reason == "wall clock not set and lux sensor faulted: relay to its safe state"


def test_lighting_verdict_outlives_a_blind_spell_with_the_wall_clock_not_set() -> None:
    controller = LightingController(_config(min_on_s=0, min_off_s=0), DEVICE)
    dark = _decide(controller, UNSET, 10.0, starting=True)
    assert dark.state.reason == "lux 10 lx below 30 lx at start"
    blind = _decide(controller, UNSET + timedelta(minutes=1), None, dark.state)
    assert (blind.state.mode, blind.commands[0].on) == ("safe", None)
    # Back between the thresholds: the verdict from before the blind spell holds, with its words.
    back = _decide(controller, UNSET + timedelta(minutes=2), 45.0, blind.state)
    assert (back.state.mode, back.commands[0].on) == ("lux", True)
    assert back.state.reason == "lux 10 lx below 30 lx at start"


def _back(now: datetime, first_lux: float, back_lux: float) -> tuple[LightingController, Decision[LightingState]]:
    """Lux control at `now`, the sensor lost a minute later, back at `back_lux` a minute after that."""
    controller = LightingController(_config(min_on_s=0, min_off_s=0), DEVICE)
    first = _decide(controller, now, first_lux, starting=True)
    lost = _decide(controller, now + timedelta(minutes=1), None, first.state)
    assert lost.state.mode == "astronomical"
    return controller, _decide(controller, now + timedelta(minutes=2), back_lux, lost.state)


@pytest.mark.parametrize(
    ("now", "first_lux", "back_lux", "on", "reason"),
    [
        # Between the thresholds, or on one: the astronomical clock's verdict stands, in its words.
        (NOON, 500.0, 45.0, False, STAY),
        (NIGHT, 2.0, 45.0, True, NIGHT_STAY),
        (NOON, 500.0, 60.0, False, STAY),
        (NIGHT, 2.0, 30.0, True, NIGHT_STAY),
        # Agreeing with it: said in lux words at once.
        (NOON, 500.0, 70.0, False, "lux 70 lx above 60 lx (lux sensor back)"),
        (NIGHT, 2.0, 10.0, True, "lux 10 lx below 30 lx (lux sensor back)"),
    ],
)
def test_lighting_sensor_back_keeps_the_astronomical_verdict_in_lux_words_if_they_agree(
    now: datetime, first_lux: float, back_lux: float, on: bool, reason: str
) -> None:
    _, back = _back(now, first_lux, back_lux)
    assert (back.state.mode, back.commands[0].on, back.state.reason) == ("lux", on, reason)
    assert back.state.pending_since_s is None


@pytest.mark.parametrize(
    ("now", "first_lux", "back_lux", "on", "side", "words"),
    [
        (NOON, 500.0, 10.0, False, "below 30", STAY),
        (NIGHT, 2.0, 500.0, True, "above 60", NIGHT_STAY),
    ],
)
def test_lighting_sensor_back_disagreeing_waits_for_the_confirmation(
    now: datetime, first_lux: float, back_lux: float, on: bool, side: str, words: str
) -> None:
    controller, back = _back(now, first_lux, back_lux)
    lux = fmt_lx(back_lux)
    assert (back.state.mode, back.commands[0].on) == ("lux", on)
    assert back.state.reason == f"{words}; lux {lux} lx {side} lx for 0 s, confirming over 3 min"
    almost = _decide(controller, now + timedelta(minutes=4, seconds=59), back_lux, back.state)
    assert almost.commands[0].on is on
    confirmed = _decide(controller, now + timedelta(minutes=5), back_lux, almost.state)
    assert confirmed.commands[0].on is (not on)
    assert confirmed.state.reason == f"lux {lux} lx {side} lx for 3 min"


@pytest.mark.parametrize(("now", "first_lux", "steady_lux", "on"), [(NIGHT, 2.0, 60.0, True), (NOON, 500.0, 30.0, False)])
def test_lighting_lux_resting_on_a_threshold_never_flips_the_verdict(
    now: datetime, first_lux: float, steady_lux: float, on: bool
) -> None:
    controller = LightingController(_config(min_on_s=0, min_off_s=0), DEVICE)
    decision = _decide(controller, now, first_lux, starting=True)
    reason = decision.state.reason
    for minute in range(1, 11):
        decision = _decide(controller, now + timedelta(minutes=minute), steady_lux, decision.state)
        assert (decision.commands[0].on, decision.state.reason, decision.state.pending_since_s) == (on, reason, None)


@pytest.mark.parametrize(
    ("reading", "mode", "on"),
    [
        (SensorInput(-1.0, NOON, True), "astronomical", False),  # no illuminance is negative: a fault
        (SensorInput(-0.1, NOON, True), "astronomical", False),
        (SensorInput(5.0, NOON, False), "astronomical", False),  # unhealthy: not used, whatever its value
        (SensorInput(0.0, NOON, True), "lux", True),  # a black sky (or a covered sensor) is 0 lx
        (SensorInput(0.5, NOON, True), "lux", True),
    ],
)
def test_lighting_only_a_healthy_non_negative_lux_is_used(reading: SensorInput, mode: str, on: bool) -> None:
    controller = LightingController(_config(), DEVICE)
    decision = controller.decide(controller.initial_state(), {LUX: reading}, {}, NOON, starting=True)
    assert (decision.state.mode, decision.commands[0].on) == (mode, on)
    assert [e.kind for e in decision.events if e.kind == "fallback"] == (["fallback"] if mode == "astronomical" else [])


def test_lighting_restart_ignores_the_minimum_times() -> None:
    # The relay went through its safe state while the agent was down: the README sets it at once.
    controller = LightingController(_config(), DEVICE)
    lit = LightingState(mode="lux", reason="lux 2.0 lx below 30 lx at start", on=True,
                        changed_at_s=NOON.timestamp() - 60, dark=True, verdict_reason="lux 2.0 lx below 30 lx at start")
    restarted = _decide(controller, NOON, 500.0, lit, starting=True)
    assert (restarted.commands[0].on, restarted.state.reason) == (False, "lux 500 lx above 60 lx at start")
    # Without a restart the same change waits for the minimum on time (300 s, 60 s of it spent).
    running = _decide(controller, NOON, 500.0, replace(lit, dark=False, verdict_reason="lux 500 lx above 60 lx"))
    assert running.commands[0].on is True
    assert running.state.reason == "lux 500 lx above 60 lx; held on for its minimum on time (4 min left)"


def test_lighting_astronomical_clock_switches_at_the_very_offset_sun_times() -> None:
    sunrise, sunset = _sun(date(2026, 1, 15))
    controller = LightingController(_config(lux_sensor=None, sunrise_offset_min=30, sunset_offset_min=-20), DEVICE)
    dawn = sunrise + timedelta(minutes=30)
    dusk = sunset - timedelta(minutes=20)
    assert _decide(controller, dawn - timedelta(microseconds=1), None, starting=True).commands[0].on is True
    assert _decide(controller, dawn, None, starting=True).commands[0].on is False
    assert _decide(controller, dusk - timedelta(microseconds=1), None, starting=True).commands[0].on is False
    assert _decide(controller, dusk, None, starting=True).commands[0].on is True
