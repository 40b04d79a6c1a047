"""The rules that judge a meter against its role (leak/role_rules.py): a building that uses nothing at night, a
village inlet that never stops. Worlds come from the simulated world's water model (drivers/sim/water.py);
expected nights, hours and litres from the scenario written in each test and the config's defaults.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta

import pytest
from leak_synthetic import (
    BUILDING_NIGHT,
    DEVICE,
    START,
    TZ,
    WORLD_WATER_STREAM,
    Run,
    building_config,
    inlet_config,
    local_s,
    meter_totals,
    model_flows,
    run,
)

from drivers.sim.water import VILLAGE_SHAPE, MeterModel
from drivers.sim.world_spec import BurstSpec, LeakSpec, MeterSpec, UseSpec
from edge.config.reader import Problems, Table
from edge.controllers.leak import state as leak_state
from edge.controllers.leak.controller import LeakController
from edge.controllers.leak.rules_config import RulesConfig, parse_rules
from edge.controllers.leak.state import LeakState
from edge.storage.schema import to_json

NO_NIGHT_USE = RulesConfig(night_use_lph=0.0)
#: A building configured to use nothing at night; no burst threshold, no valve.
BUILDING = building_config(burst_lph=None, valve_relay=None, rules=NO_NIGHT_USE)
INLET_RULES = RulesConfig(role="inlet", surge_factor=2.0, silent_after_h=6.0)
#: A village inlet (10 L a pulse) whose night flow is never judged in these runs (60 warm-up nights).
INLET = inlet_config(warmup_nights=60, baseline_nights=60, rules=INLET_RULES)
#: A village whose day peak is about 2 m3/h: night_lph + (day_lph - night_lph) x 1.467 (VILLAGE_SHAPE's peak
#: over its day mean).
VILLAGE = MeterSpec("inlet-meter", "village", night_lph=400.0, night_variation_pct=8.0, night_distribution="lognormal",
                    day_lph=1500.0, noise_pct=10.0)
REPEAT_NIGHTS = 3
VERDICT = timedelta(hours=5, minutes=15)


def _verdict(night_index: int) -> timedelta:
    """Offset from START of the verdict of the n-th night (0: the night ending on START's day)."""
    return timedelta(days=night_index) + VERDICT


def _cistern(start: timedelta, period_min: float = 70.0, rate_lph: float = 3.0) -> LeakSpec:
    return LeakSpec("water-main", START + start, rate_lph, None, period_min)


def test_leak_running_cistern_from_installation_alarms_after_3_nights_and_is_never_learned() -> None:
    # 3.5 L every 70 min: at least 3 fills in the 240 min window, each in its own hour bucket, >= 60 min dry
    # between them. Night 0 is the first, so the 3rd night's verdict is START + 2 d + 05:15.
    result = run(LeakController(BUILDING, DEVICE),
                 meter_totals(model_flows(BUILDING_NIGHT, 13, 8, [_cistern(timedelta(0))]), 1.0, 300))
    alarms = [a for a in result.alarms() if a.data["alarm_kind"] != "continuous_flow"]
    assert [a.data["alarm_kind"] for a in alarms][:1] in (["intermittent_night_flow"], ["implausible_baseline"])
    assert alarms[0].at == START + _verdict(REPEAT_NIGHTS - 1)
    for night in alarms[0].data["evidence"]["nights"]:
        assert night["hours_with_flow"] >= 3 and night["volume_l"] >= 3 * 3.5 - 1.0
    assert all(mnf <= BUILDING.min_detectable_lph for _, mnf in result.state.detector.learned)


def test_leak_running_cistern_without_a_night_use_expectation_is_learned_as_before() -> None:
    # The old behaviour the issue reports: no expectation, so nights with water in every hour are learned.
    config = building_config(burst_lph=None, valve_relay=None, continuous_flow=False)
    result = run(LeakController(config, DEVICE),
                 meter_totals(model_flows(BUILDING_NIGHT, 13, 8, [_cistern(timedelta(0))]), 1.0, 300))
    assert result.alarms() == []
    assert any(mnf >= 2.0 for _, mnf in result.state.detector.learned)


def test_leak_steady_leak_from_installation_is_an_implausible_baseline_on_the_3rd_night() -> None:
    # 3 L/h day and night: every hour bucket holds 3 pulses, the minimum night flow is 3 L/h > 0 + 1 L/h.
    leak = LeakSpec("water-main", START, 3.0)
    result = run(LeakController(BUILDING, DEVICE), meter_totals(model_flows(BUILDING_NIGHT, 13, 5, [leak]), 1.0, 300))
    nights = [a for a in result.alarms() if a.data["alarm_kind"] != "continuous_flow"]
    assert [a.data["alarm_kind"] for a in nights] == ["implausible_baseline"]
    assert nights[0].at == START + _verdict(REPEAT_NIGHTS - 1)
    assert nights[0].data["evidence"]["limit_lph"] == 1.0
    assert result.state.detector.learned == ()
    assert "night flow" in result.state.reason and "not learned" in result.state.reason


def _wet_hours(model: MeterModel, night: int) -> int:
    """Ground truth: hours of 01:00-05:00 on the night ending `night` days after START with a refill or flush."""
    day = (START + timedelta(days=night)).astimezone(TZ).replace(hour=0)
    edges = [local_s(day + timedelta(hours=h)) for h in range(1, 5)]
    return sum(1 for b0 in edges if model.uses_between(b0 - 300, b0 + 3600 + 300))


@pytest.mark.parametrize("seed", [2, 12])
def test_leak_realistic_building_with_no_night_use_configured_raises_nothing_in_60_nights(seed: int) -> None:
    days = 61
    model = MeterModel(BUILDING_NIGHT, seed, WORLD_WATER_STREAM)
    wet = [_wet_hours(model, n) for n in range(days)]
    assert sum(wet) >= days, "no realistic night use"
    assert not any(min(wet[i:i + REPEAT_NIGHTS]) >= 3 for i in range(days - 2)), "a run of busy nights"
    config = building_config(burst_lph=None, valve_relay=None, rules=NO_NIGHT_USE)
    result = run(LeakController(config, DEVICE), meter_totals(model_flows(BUILDING_NIGHT, seed, days), 1.0, 600))
    assert result.alarms() == []
    assert result.state.mode == "watching"


def _flows(spec: MeterSpec, seed: int, days: int, bursts: tuple[BurstSpec, ...] = (),
           uses: tuple[UseSpec, ...] = ()) -> list[float]:
    """Per-minute mean flow from START through the world's water model, with legitimate uses by date."""
    model = MeterModel(spec, seed, WORLD_WATER_STREAM, (), bursts, uses)
    return [model.step(START.timestamp() + 60.0 * m, local_s(START + timedelta(minutes=m)), False, 60.0)
            for m in range(days * 1440)]


def _inlet_run(days: int, bursts: tuple[BurstSpec, ...] = (), uses: tuple[UseSpec, ...] = (),
               totals: list[tuple[datetime, float]] | None = None) -> Run:
    return run(LeakController(INLET, DEVICE), totals or meter_totals(_flows(VILLAGE, 3, days, bursts, uses), 10.0, 60))


def test_leak_daytime_6_m3h_burst_on_an_inlet_with_a_2_m3h_peak_is_flagged_within_the_hour() -> None:
    mean = sum((VILLAGE_SHAPE[h] + VILLAGE_SHAPE[(h + 1) % 24]) / 2 for h in range(6, 22)) / 16
    peak_lph = VILLAGE.night_lph + (VILLAGE.day_lph - VILLAGE.night_lph) * max(VILLAGE_SHAPE) / mean
    assert 1900.0 < peak_lph < 2100.0
    start = START + timedelta(days=4, hours=14)
    result = _inlet_run(5, (BurstSpec("inlet-meter", start, start + timedelta(hours=12), 6000.0),))
    alarms = result.alarms()
    assert [a.data["alarm_kind"] for a in alarms][:1] == ["profile_burst"]
    assert start < alarms[0].at <= start + timedelta(minutes=60)
    assert all(a.at > start for a in alarms)


def test_leak_ordinary_days_and_a_fete_on_an_inlet_raise_nothing() -> None:
    # A fete adds 600 L/h from 10:00 to 20:00 on the 5th day: under twice any hour's usual flow.
    fete = UseSpec("inlet-meter", "fete", START + timedelta(days=4, hours=10), START + timedelta(days=4, hours=20), 600.0)
    result = _inlet_run(7, uses=(fete,))
    assert result.alarms() == []
    assert "day profile: peak" in result.state.reason


def test_leak_fete_twice_the_usual_flow_is_flagged_as_a_burst() -> None:
    # The same fete at 3000 L/h: more than twice the afternoon's ~1.2-1.6 m3/h, a surge the watch must show.
    fete = UseSpec("inlet-meter", "fete", START + timedelta(days=4, hours=13), START + timedelta(days=4, hours=16),
                   3000.0)
    result = _inlet_run(5, uses=(fete,))
    assert [a.data["alarm_kind"] for a in result.alarms()] == ["profile_burst"]


def test_leak_inlet_meter_that_stops_is_a_fault_after_6_h_blind_in_status_and_cleared_when_it_counts() -> None:
    samples = meter_totals(_flows(VILLAGE, 3, 3), 10.0, 60)
    stop = START + timedelta(days=1, hours=20)
    back = stop + timedelta(hours=10)
    frozen = next(total for at, total in samples if at >= stop)
    totals = [(at, frozen if stop <= at < back else total) for at, total in samples]
    result = _inlet_run(3, totals=totals)
    faults = [e for e in result.events if e.kind in ("fault", "fault_cleared")]
    assert [(e.kind, e.data["code"]) for e in faults] == [("fault", "meter_silent"), ("fault_cleared", "meter_silent")]
    assert stop + timedelta(hours=6) - timedelta(minutes=2) <= faults[0].at <= stop + timedelta(hours=6)
    assert faults[0].data["severity"] == "fault"
    assert faults[1].at == back
    night = next(n for n in result.state.nights if n.night == (START + timedelta(days=2)).astimezone(TZ).date().isoformat())
    assert night.mnf_lph is None and "meter silent" in night.note


def test_leak_inlet_status_says_blind_while_silent() -> None:
    samples = meter_totals(_flows(VILLAGE, 3, 1), 10.0, 60)
    stop = START + timedelta(hours=12)
    frozen = next(total for at, total in samples if at >= stop)
    result = _inlet_run(1, totals=[(at, frozen if at >= stop else total) for at, total in samples])
    assert result.state.mode == "blind" and "BLIND" in result.state.reason


def test_leak_building_silent_for_3_days_is_a_warning_not_blind() -> None:
    holiday = UseSpec("water-main", "holiday", START + timedelta(days=1, hours=18), START + timedelta(days=6))
    flows = _flows(BUILDING_NIGHT, 13, 7, uses=(holiday,))
    result = run(LeakController(BUILDING, DEVICE), meter_totals(flows, 1.0, 300))
    faults = [e for e in result.events if e.kind in ("fault", "fault_cleared")]
    assert [(e.kind, e.data["severity"] if e.kind == "fault" else "") for e in faults] == [
        ("fault", "warning"), ("fault_cleared", "")]
    assert holiday.start + timedelta(hours=72) - timedelta(hours=3) <= faults[0].at <= holiday.start + timedelta(hours=72)
    assert holiday.end <= faults[1].at <= holiday.end + timedelta(hours=16)
    assert result.alarms() == []


def test_leak_role_defaults_and_mistakes_are_named() -> None:
    problems = Problems("box.toml")
    inlet = parse_rules(Table({"role": "inlet"}, "leak[0]", problems))
    assert (inlet.silent_after_h, inlet.surge_factor) == (6.0, 2.0)
    building = parse_rules(Table({"night_use_lph": 0.0}, "leak[1]", problems))
    assert (building.role, building.silent_after_h, building.surge_factor, building.night_use_lph) == (
        "building", 72.0, None, 0.0)
    parse_rules(Table({"role": "tower", "surge_factor": 1.0, "silent_after_h": math.nan}, "leak[2]", problems))
    parse_rules(Table({"role": "inlet", "night_use_lph": 0.0}, "leak[3]", problems))
    keys = {p.key for p in problems.items}
    assert {"leak[2].role", "leak[2].surge_factor", "leak[2].silent_after_h", "leak[3].night_use_lph"} <= keys


def test_leak_state_with_profile_and_silence_round_trips_through_json() -> None:
    start = START + timedelta(days=4, hours=14)
    result = _inlet_run(5, (BurstSpec("inlet-meter", start, start + timedelta(hours=2), 6000.0),))
    state = result.state
    assert min(len(s) for s in state.profile.slots) >= 3
    text = leak_state.StateJson(to_json).encode(state)  # the agent's own compact encoder
    assert text == to_json(leak_state.state_to_dict(state))
    assert leak_state.state_from_dict(json.loads(text)) == state


def test_leak_acknowledged_surge_rearms_only_once_the_flow_falls_back() -> None:
    # Two 6 m3/h bursts: 14:00-17:00 on the 5th day (acknowledged at once) and 14:00-15:00 on the 6th. The first
    # alarms once, however long it runs after its acknowledgement; the second alarms again.
    first = START + timedelta(days=4, hours=14)
    second = first + timedelta(days=1)
    bursts = (BurstSpec("inlet-meter", first, first + timedelta(hours=3), 6000.0),
              BurstSpec("inlet-meter", second, second + timedelta(hours=1), 6000.0))

    def ack_surges(_at: datetime, state: LeakState) -> frozenset[str]:
        return frozenset(a.key for a in state.alarms if a.alarm_kind == "profile_burst")

    result = run(LeakController(INLET, DEVICE), meter_totals(_flows(VILLAGE, 3, 6, bursts), 10.0, 60), acks=ack_surges)
    raised = [a.at for a in result.alarms("profile_burst")]
    assert len(raised) == 2, raised
    assert first < raised[0] <= first + timedelta(minutes=60)
    assert second < raised[1] <= second + timedelta(minutes=60)


def test_leak_inlet_leak_present_from_installation_is_an_implausible_baseline_once_the_day_is_known() -> None:
    # A 2000 L/h leak from the first minute: the night baseline (~400 + 2000 L/h) is ~69 % of the day's mean flow
    # (~1500 + 2000 L/h), above the 50 % a village's night may draw. The baseline exists after 3 learned nights
    # (nights 0-2); the day's hours are all known after 3 whole days, so the verdict of night 3 (day 3, 05:15)
    # raises it.
    config = inlet_config(warmup_nights=3, baseline_nights=10, rules=INLET_RULES)
    leak = LeakSpec("inlet-meter", START, 2000.0)
    model = MeterModel(VILLAGE, 3, WORLD_WATER_STREAM, (leak,))
    flows = [model.step(START.timestamp() + 60.0 * m, local_s(START + timedelta(minutes=m)), False, 60.0)
             for m in range(5 * 1440)]
    result = run(LeakController(config, DEVICE), meter_totals(flows, 10.0, 60))
    alarms = result.alarms("implausible_baseline")
    assert [a.at for a in alarms] == [START + _verdict(3)]
    evidence = alarms[0].data["evidence"]
    assert evidence["baseline_lph"] > INLET_RULES.inlet_night_share_max * evidence["day_mean_lph"]
    assert 2200.0 < evidence["baseline_lph"] < 2600.0 and 3000.0 < evidence["day_mean_lph"] < 4000.0


def test_leak_inlet_without_a_leak_keeps_a_plausible_baseline() -> None:
    config = inlet_config(warmup_nights=3, baseline_nights=10, rules=INLET_RULES)
    result = run(LeakController(config, DEVICE), meter_totals(_flows(VILLAGE, 3, 5), 10.0, 60))
    assert result.alarms() == [] and result.state.baseline_lph is not None
    assert "night flow baseline" in result.state.reason and "day profile: peak" in result.state.reason
