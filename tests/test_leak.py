"""Leak controller on synthetic meter totals: drips found in nights, no false alarms, bursts close the valve."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest
from leak_synthetic import (
    DEVICE,
    START,
    TZ,
    building_config,
    building_flows,
    inlet_config,
    inlet_flows,
    meter_totals,
    night_of,
    run,
)

from edge.controllers.base import SensorInput
from edge.controllers.leak.controller import LeakController
from edge.controllers.leak.state import LeakState
from edge.controllers.overrides import Override


def _first_leak_night(leak_day: int) -> datetime:
    return START + timedelta(days=leak_day + 1)


def _nights_to_alarm(events_run, leak_day: int) -> int | None:
    alarms = events_run.alarms("night_flow")
    if not alarms:
        return None
    first = _first_leak_night(leak_day).astimezone(TZ).date()
    return (datetime.fromisoformat(night_of(alarms[0])).date() - first).days + 1


def _steady(start: datetime, minutes: int, flow_lph: float, total_l: float, step_s: int = 60) -> list:
    """Samples of a meter with a constant flow (fine values)."""
    return [(start + timedelta(seconds=i * step_s), total_l + flow_lph * i * step_s / 3600.0)
            for i in range(minutes * 60 // step_s + 1)]


def _decide(controller: LeakController, state: LeakState, at: datetime, total: float | None, **kwargs):
    reading = SensorInput(total, at if total is not None else None, total is not None)
    return controller.decide(state, {controller.config.input_key: reading}, kwargs.pop("overrides", {}), at, **kwargs)


@pytest.mark.parametrize("seed", [1, 2])
def test_leak_quiet_building_60_days_raises_nothing(seed: int) -> None:
    controller = LeakController(building_config(), DEVICE)
    result = run(controller, meter_totals(building_flows(seed, 60), 1.0, 300))
    assert result.alarms() == []
    assert result.state.mode == "watching" and "baseline 0.0 L/h" in result.state.reason
    assert all(n.note == "ok" for n in result.state.nights)


@pytest.mark.parametrize(("leak_lph", "max_nights"), [(1.0, 4), (2.0, 2), (5.0, 2), (20.0, 2)])
def test_leak_building_drip_found_within_nights(leak_lph: float, max_nights: int) -> None:
    controller = LeakController(building_config(), DEVICE)
    flows = building_flows(3, 40, leak_lph, leak_from_min=30 * 1440 + 14 * 60)
    result = run(controller, meter_totals(flows, 1.0, 600))
    assert _nights_to_alarm(result, 30) == max_nights
    evidence = result.alarms("night_flow")[0].data["evidence"]
    assert evidence["baseline_lph"] == 0.0
    assert evidence["night_flows_lph"][-1]["mnf_lph"] == pytest.approx(leak_lph, abs=0.5)
    assert {"date", "mnf_lph", "note"} <= set(evidence["night_flows_lph"][0])
    assert result.state.mode == "alarm"


def test_leak_building_drip_is_continuous_flow_within_a_day() -> None:
    controller = LeakController(building_config(), DEVICE)
    leak_from = 20 * 1440 + 14 * 60
    result = run(controller, meter_totals(building_flows(4, 23, 2.0, leak_from), 1.0, 60))
    alarm = result.alarms("continuous_flow")[0]
    # 24 h after the last hour without a pulse, which ended with the drip's first pulse.
    assert timedelta(hours=24) < alarm.at - (START + timedelta(minutes=leak_from)) < timedelta(hours=25)
    assert alarm.data["key"] == "leak-main/continuous_flow"
    assert 1.5 < alarm.data["evidence"]["average_flow_lph"] < 40.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_leak_inlet_20_percent_found_within_7_nights(seed: int) -> None:
    controller = LeakController(inlet_config(), DEVICE)
    flows = inlet_flows(seed, 55, 80.0, leak_from_min=45 * 1440 + 13 * 60)
    result = run(controller, meter_totals(flows, 10.0, 600))
    nights = _nights_to_alarm(result, 45)
    assert nights is not None and nights <= 7
    assert [a.data["alarm_kind"] for a in result.alarms()] == ["night_flow"]


def test_leak_year_without_leak_raises_nothing_on_either_meter() -> None:
    inlet = run(LeakController(inlet_config(), DEVICE), meter_totals(inlet_flows(7, 365), 10.0, 600))
    building = run(LeakController(building_config(), DEVICE), meter_totals(building_flows(7, 365), 1.0, 600))
    assert inlet.alarms() == [] and building.alarms() == []
    assert inlet.state.mode == "watching" and 350 < inlet.state.baseline_lph < 450


def test_leak_acknowledged_leak_still_there_alarms_again() -> None:
    controller = LeakController(building_config(), DEVICE)
    flows = building_flows(5, 45, 2.0, leak_from_min=30 * 1440 + 14 * 60)

    def ack_night(at: datetime, state: LeakState) -> frozenset[str]:
        return frozenset(a.key for a in state.alarms if a.alarm_kind == "night_flow")

    result = run(controller, meter_totals(flows, 1.0, 600), acks=ack_night)
    raised = result.alarms("night_flow")
    assert len(raised) >= 3
    assert [e.kind for e in result.events if e.kind == "alarm_acked"]
    assert all(v == 0.0 for _, v in result.state.detector.learned)


def test_leak_burst_closes_the_valve_until_acknowledged() -> None:
    controller = LeakController(building_config(), DEVICE)
    start = START + timedelta(days=3, hours=10)
    state = controller.initial_state()
    closed_at = None
    for at, total in _steady(start, 30, 3000.0, 500.0):
        decision = _decide(controller, state, at, total, starting=state.track.last_at is None)
        state = decision.state
        (command,) = decision.commands
        if command.on and closed_at is None:
            closed_at = at
            assert [e.data["alarm_kind"] for e in decision.events if e.kind == "alarm"] == ["burst"]
    assert closed_at is not None and timedelta(minutes=10) <= closed_at - start <= timedelta(minutes=12)
    assert state.mode == "alarm" and "main-valve" in decision.interlocks
    # Flow stops (valve shut): still closed; a technician's order to open is refused.
    at = start + timedelta(minutes=40)
    opening = Override("main-valve", on=False, until=at + timedelta(hours=2), set_at=at)
    decision = _decide(controller, state, at, total, overrides={"main-valve": opening})
    assert decision.commands[0].on is True
    assert [e.kind for e in decision.events] == ["interlock"]
    decision = _decide(controller, decision.state, at + timedelta(minutes=1), total, overrides={"main-valve": opening})
    assert decision.commands[0].on is True and decision.events == ()
    # Acknowledged: the alarm goes, the technician's open order now holds.
    acked = _decide(controller, decision.state, at + timedelta(minutes=2), total,
                    overrides={"main-valve": opening}, acks=frozenset({"leak-main/burst"}))
    assert acked.commands[0].on is False and acked.interlocks == {}
    assert {e.kind for e in acked.events} == {"alarm_acked", "override", "decision"}


def test_leak_burst_with_normally_closed_valve_de_energises() -> None:
    controller = LeakController(building_config(valve_closed_when="off"), DEVICE)
    state = controller.initial_state()
    for at, total in _steady(START + timedelta(hours=12), 15, 5000.0, 0.0):
        decision = _decide(controller, state, at, total)
        state = decision.state
    assert state.latched("burst") and decision.commands[0].on is False


@pytest.mark.parametrize(("hour", "alarm"), [(3, True), (7, False)])
def test_leak_night_burst_threshold_applies_only_at_night(hour: int, alarm: bool) -> None:
    controller = LeakController(inlet_config(), DEVICE)
    start = datetime(2026, 2, 10, hour, 5, tzinfo=TZ).astimezone(UTC)
    result = run(controller, _steady(start, 30, 6400.0, 10_000.0))
    assert bool(result.alarms("burst")) is alarm
    assert result.state.valve_closed is alarm


def test_leak_faulted_meter_leaves_the_valve_as_it_is_and_raises_nothing() -> None:
    controller = LeakController(building_config(), DEVICE)
    start = START + timedelta(days=1, hours=12)
    burst = run(controller, _steady(start, 15, 5000.0, 0.0))
    assert burst.state.valve_closed
    faulted = run(controller, [(start + timedelta(minutes=20 + i), None) for i in range(30)], burst.state,
                  keep_decisions=True)
    assert all(d.commands[0].on is True for d in faulted.decisions)
    assert faulted.alarms() == [] and faulted.state.latched("burst")
    quiet = run(controller, [(start + timedelta(minutes=i), None) for i in range(3 * 1440)], keep_decisions=True)
    assert all(d.commands[0].on is False for d in quiet.decisions)
    assert quiet.alarms() == [] and quiet.state.mode == "no_data"
    assert all(n.mnf_lph is None and "no meter data" in n.note for n in quiet.state.nights)


def test_leak_gap_in_the_night_skips_the_night_and_says_so() -> None:
    controller = LeakController(building_config(), DEVICE)
    samples = meter_totals(building_flows(6, 12, 30.0, leak_from_min=10 * 1440), 1.0, 300)
    night = datetime(2026, 1, 16, 2, 0, tzinfo=TZ)
    samples = [(at, None if night <= at < night + timedelta(hours=1) else v) for at, v in samples]
    result = run(controller, samples)
    skipped = [n for n in result.state.nights if n.night == "2026-01-16"]
    assert skipped[0].mnf_lph is None and "02:00 (0 % covered)" in skipped[0].note
    assert result.alarms("night_flow") == []


def test_leak_meter_total_going_back_restarts_tracking() -> None:
    controller = LeakController(building_config(), DEVICE)
    start = START + timedelta(days=2)
    first = run(controller, _steady(start, 60, 10.0, 5000.0))
    replaced = run(controller, _steady(start + timedelta(minutes=61), 60, 10.0, 3.0), first.state)
    faults = [e for e in replaced.events if e.kind == "fault"]
    assert len(faults) == 1 and faults[0].data["previous_total_l"] == pytest.approx(5010.0)
    assert replaced.alarms() == []
    assert replaced.state.track.observed_since == (start + timedelta(minutes=61)).timestamp()


def test_leak_missed_nightly_job_is_caught_up_at_start() -> None:
    controller = LeakController(building_config(), DEVICE)
    samples = meter_totals(building_flows(8, 3), 1.0, 60)
    night_end = datetime(2026, 1, 7, 5, 0, tzinfo=TZ)
    before = [(at, v) for at, v in samples if at < night_end - timedelta(minutes=1)]
    state = run(controller, before).state
    assert state.analysed_through == "2026-01-06"
    # A restart before the verdict's time (05:15) leaves the night to the job.
    early = _decide(controller, state, night_end + timedelta(minutes=14), 0.0, starting=True)
    assert early.state.analysed_through == "2026-01-06"
    restart = night_end + timedelta(hours=3)
    total = next(v for at, v in samples if at >= restart)
    decision = _decide(controller, state, restart, total, starting=True)
    assert decision.state.analysed_through == "2026-01-07"
    assert decision.state.nights[-1].mnf_lph == 0.0 and decision.state.nights[-1].note == "learning"
    assert [e.kind for e in decision.events] == ["job", "decision"]
    assert decision.events[0].data["by"] == "restart after the nightly job's time"


def test_leak_nightly_verdict_comes_from_the_job_after_the_night() -> None:
    controller = LeakController(building_config(), DEVICE)
    night_end = datetime(2026, 1, 7, 5, 0, tzinfo=TZ).astimezone(UTC)
    state = run(controller, _steady(night_end - timedelta(hours=6), 374, 0.0, 10.0)).state
    # Samples up to 05:14 came in: decide() judged nothing by itself.
    assert state.analysed_through == "2026-01-06"
    verdict = controller.run_job("nightly", state, night_end + timedelta(minutes=15))
    assert verdict.state.analysed_through == "2026-01-07" and verdict.state.nights[-1].mnf_lph == 0.0
    (event,) = verdict.events
    assert event.kind == "job" and event.data["date"] == "2026-01-07" and event.data["by"] == "nightly job"
    assert event.data["mnf_lph"] == 0.0 and "night ending 2026-01-07: minimum night flow 0.0 L/h" in event.reason
    again = controller.run_job("nightly", verdict.state, night_end + timedelta(minutes=16))
    assert again.state.nights == verdict.state.nights and again.events == ()
    with pytest.raises(ValueError):
        controller.run_job("weekly", state, night_end)


def test_leak_stalled_calendar_still_gets_a_late_verdict() -> None:
    controller = LeakController(building_config(), DEVICE)
    night_end = datetime(2026, 1, 7, 5, 0, tzinfo=TZ).astimezone(UTC)
    state = controller.initial_state()
    # No calendar: decide() alone, every minute from 23:00 to 07:14.
    for at, total in _steady(night_end - timedelta(hours=6), 360 + 15 + 119, 0.0, 10.0):
        state = _decide(controller, state, at, total, starting=state == controller.initial_state()).state
    assert state.analysed_through == "2026-01-06"  # 07:14: the job is 1 h 59 min late, not yet judged
    late = _decide(controller, state, night_end + timedelta(minutes=15 + 120), 10.0)
    assert late.state.analysed_through == "2026-01-07"
    assert [e.data["by"] for e in late.events if e.kind == "job"] == ["late: the nightly job did not run"]


def test_leak_expired_override_is_said_once_and_ignored() -> None:
    controller = LeakController(building_config(), DEVICE)
    at = START + timedelta(hours=12)
    closing = Override("main-valve", on=True, until=at + timedelta(minutes=5), set_at=at - timedelta(minutes=5))
    state = controller.initial_state()
    kinds = []
    commands = []
    for minute in range(10):
        decision = _decide(controller, state, at + timedelta(minutes=minute), 10.0, overrides={"main-valve": closing})
        state = decision.state
        kinds.append([e.kind for e in decision.events])
        commands.append(decision.commands[0].on)
    assert commands == [True] * 5 + [False] * 5
    assert kinds[0] == ["override", "decision"] and kinds[5] == ["override", "decision"]
    assert all(k == [] for i, k in enumerate(kinds) if i not in (0, 5))


def test_leak_state_round_trips_through_json() -> None:
    controller = LeakController(building_config(), DEVICE)
    flows = building_flows(9, 20, 5.0, leak_from_min=12 * 1440)
    state = run(controller, meter_totals(flows, 1.0, 600)).state
    assert state.alarms and state.nights and state.detector.learned
    data = json.loads(json.dumps(controller.state_to_dict(state)))
    assert controller.state_from_dict(data) == state
    assert data["mode"] == "alarm" and data["reason"] and data["alarms"][0]["key"].startswith("leak-main/")


def test_leak_controller_declares_its_relays_inputs_and_job() -> None:
    controller = LeakController(building_config(), DEVICE)
    assert controller.relays == ("main-valve",) and controller.inputs == ("water-main.volume_total_l",)
    assert [(j.name, j.at_local) for j in controller.jobs] == [("nightly", "05:15")]
    later = LeakController(building_config(night_end=time(6, 50), verdict_delay_min=30), DEVICE)
    assert [(j.name, j.at_local) for j in later.jobs] == [("nightly", "07:20")]
    assert LeakController(building_config(valve_relay=None), DEVICE).relays == ()
