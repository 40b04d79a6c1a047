"""Leak watch through the real agent, pulse meters on simulated GPIO, and a simulated world: each rule alone.

Each test leaves one rule able to alarm and says how the others are kept out. The building's world has
realistic night use (cistern top-ups and flushes at random night times, busier and quieter nights); the
expected times come from the world's physics and the config written here (see tests/test_leak_night_flow.py,
tests/test_leak_continuous.py and tests/test_leak_burst.py for the same rules over long horizons), and every
run goes on past the latest time a test allows, so a late alarm fails as surely as a missing one.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from simbox import INLET, BoxRun, box_run, inlet_world, local

from edge.technician.reports import ack_alarm, set_relay

SAMPLE_S = 300
SAMPLE = timedelta(seconds=SAMPLE_S)
#: The building's water meter: 1 L a pulse.
STEP_L = 1.0


def _building_box(leak: str) -> str:
    """A school's box reduced to its 1 L/pulse water meter (read every SAMPLE_S) and one leak watch."""
    return f"""
[device]
id = "ecole-saint-aubin"
latitude = 45.187
longitude = 5.726
timezone = "Europe/Paris"

[simulation]
enabled = true
flow_lph = 0.0

[buses.gpio]
type = "gpio"

[[sensors]]
id = "water-main"
driver = "pulse_meter"
bus = "gpio"
pin = 17
litres_per_pulse = {STEP_L}
debounce_s = 0.005
interval_s = {SAMPLE_S}

[agent]
db_path = "/var/lib/hameau/hameau.db"
commit_interval_s = 120

[[leak]]
id = "leak-school"
meter = "water-main"
{leak}
"""


#: Only the night-flow rule: no continuous-flow check and no burst threshold (defaults: 01:00-05:00 in hour
#: buckets, 14 warm-up nights, k = 1, h = 4, min_detectable_lph = 1).
NIGHT_ONLY_BOX = _building_box("continuous_flow = false\n")
#: Only the continuous-flow rule: no burst threshold, and no night is ever judged (60 warm-up nights).
CONTINUOUS_ONLY_BOX = _building_box("warmup_nights = 60\nbaseline_nights = 60\n")
#: A seed whose nights each keep an hour bucket free of refills and flushes (checked below).
SEED = 13


def _building_world(start: str, duration: str, leak: str = "") -> str:
    return f"""
[site]
start = "{start}"
duration = "{duration}"
seed = {SEED}

[[water.meters]]
sensor = "water-main"
profile = "building"
night_lph = 0.0
day_lph = 40.0
noise_pct = 30.0
night_distribution = "gamma"    # busier and quieter nights: a factor of mean 1, SD 0.5, on both rates
night_variation_pct = 50.0
refills_per_hour = 0.3          # cistern top-ups between 22:00 and 06:00, about 3 L each
refill_l = 3.0
flushes_per_night = 1.0
flush_l = 6.0
{leak}
"""


def _leak(start: str, rate_lph: float) -> str:
    return f'[[water.leaks]]\nmeter = "water-main"\nstart = "{start}"\nrate_lph = {rate_lph}\n'


def _local_s(when: datetime) -> float:
    """A local wall time in the seconds the world's water model counts in."""
    offset = when.utcoffset()
    return when.timestamp() + (0.0 if offset is None else offset.total_seconds())


def _uses(run: BoxRun, start: datetime, end: datetime) -> tuple:
    """Ground truth: the refills and flushes flowing between two local times."""
    return run.sim.world.meters["water-main"].uses_between(_local_s(start) - SAMPLE_S, _local_s(end) + SAMPLE_S)


def _alarms(run: BoxRun, source: str) -> list:
    return run.events(kind="alarm", source=source)


def test_agent_leak_night_flow_alone_flags_a_2lph_leak_on_its_second_night_and_again_after_an_ack(
    tmp_path: Path,
) -> None:
    # The design (controller docstring): leak-free nights that each keep a bucket free of use read 0 L/h, so
    # the baseline is 0 with the spread at its floor, half of max(min_detectable_lph, one meter step per
    # bucket). A 2 L/h leak fills every bucket with 2 pulses: z = 2 / 0.5 = 4, capped at k + h/2 = 3, so the
    # CUSUM gains z - k = 2 a night and reaches h on the leak's 2nd night, never on its 1st. The
    # acknowledgement restarts the CUSUM at 0: the leak, still there, alarms again 2 nights later.
    k, h, min_detectable_lph, bucket_h, leak_lph = 1.0, 4.0, 1.0, 1.0, 2.0
    spread_lph = max(min_detectable_lph, STEP_L / bucket_h) / 2.0
    z = min(leak_lph / spread_lph, k + h / 2.0)
    nights = math.ceil(h / (z - k))
    assert (spread_lph, nights) == (0.5, 2)
    leak_start = local("2026-01-19T14:00")  # 14 nights learned (Jan 4-17), Jan 18 and 19 judged leak-free
    expected = local("2026-01-20T05:15") + timedelta(days=nights - 1)  # the nightly verdict (night end + 15 min)
    again = expected + timedelta(days=nights)
    world = _building_world("2026-01-04T00:00", "21d", _leak(leak_start.isoformat()[:16], leak_lph))
    with box_run(tmp_path, world, box=NIGHT_ONLY_BOX) as run:
        # Ground truth: every night before the leak kept an hour bucket free of refills and flushes (after it,
        # the leak's 2 pulses fill every bucket), and there was night use in the windows all the same.
        nights_before = [local("2026-01-04T01:00") + timedelta(days=i) for i in range(16)]
        assert all(any(not _uses(run, d + timedelta(hours=i), d + timedelta(hours=i + 1)) for i in range(4))
                   for d in nights_before), "a night without a free bucket: the baseline would not be 0 L/h"
        assert sum(len(_uses(run, d, d + timedelta(hours=4))) for d in nights_before) >= 8, "no realistic night use"
        run.run_until(leak_start)
        assert _alarms(run, "leak-school") == [], "alarm before the leak"
        run.run_until(expected + timedelta(hours=3))
        first = _alarms(run, "leak-school")
        assert [a.data["alarm_kind"] for a in first] == ["night_flow"]
        technician = run.technician_store()
        (latched,) = technician.latched_alarms()
        acked, _ = ack_alarm(technician, latched.id, "technician:test", run.sim.now)
        technician.close()
        assert acked is not None
        run.run_until(again + timedelta(days=1))  # one more night judged after the latest allowed one
        alarms = _alarms(run, "leak-school")
        verdicts = run.events(kind="job", source="leak-school")
    assert verdicts[-1].data["date"] == "2026-01-24", "the run ended before the next night was judged"
    assert expected <= alarms[0].at < expected + timedelta(minutes=1), alarms[0].at
    evidence = alarms[0].data["evidence"]
    assert evidence["baseline_lph"] == 0.0 and evidence["spread_lph"] == spread_lph
    # 2 pulses an hour, give or take what the samples at a bucket's edges spread across it.
    assert evidence["night_flows_lph"][-1]["mnf_lph"] == pytest.approx(leak_lph, abs=STEP_L / 2)
    assert [a.data["alarm_kind"] for a in alarms] == ["night_flow", "night_flow"]
    assert again <= alarms[1].at < again + timedelta(minutes=1), alarms[1].at


def test_agent_leak_continuous_flow_alone_flags_a_leak_24_h_after_its_start(tmp_path: Path) -> None:
    # A 2 L/h leak on a 1 L/pulse meter steps at least every 30 min: after its first step (at most 30 min
    # after it starts) no 60 min zero-flow interval comes again, and the alarm comes 24 h after the last one.
    leak_start = local("2026-01-07T02:00")
    earliest = leak_start - SAMPLE + timedelta(hours=24)
    latest = leak_start + timedelta(hours=STEP_L / 2.0) + timedelta(hours=24) + SAMPLE
    world = _building_world("2026-01-04T00:00", "5d", _leak("2026-01-07T02:00", 2.0))
    with box_run(tmp_path, world, box=CONTINUOUS_ONLY_BOX) as run:
        # Ground truth: no refill or flush for 60 min + a sample before the leak or in its first hour.
        assert _uses(run, leak_start - timedelta(hours=1), leak_start + timedelta(hours=1)) == ()
        run.run_until(leak_start)
        assert _alarms(run, "leak-school") == [], "continuous flow in a building whose nights have quiet hours"
        run.run_until(latest + timedelta(hours=6))
        alarms = _alarms(run, "leak-school")
        verdicts = run.events(kind="job", source="leak-school")
    assert [a.data["alarm_kind"] for a in alarms] == ["continuous_flow"]
    assert earliest <= alarms[0].at <= latest, alarms[0].at
    # No night_flow alarm could come: with 60 warm-up nights every night of this run was only learned.
    assert len(verdicts) >= 4 and all(v.data["note"] == "learning" for v in verdicts)



def _burst(start: str, duration: str, rate_lph: float) -> str:
    return (f'[[water.bursts]]\nmeter = "inlet-meter"\nstart = "{start}"\nduration = "{duration}"\n'
            f'rate_lph = {rate_lph}\n')


def _burst_only(text: str) -> str:
    """The example inlet box (continuous_flow = false) with night flow kept out: 60 warm-up nights."""
    kept_out = "continuous_flow = false\nwarmup_nights = 60\nbaseline_nights = 60\n"
    assert text.count("continuous_flow = false\n") == 1
    return text.replace("continuous_flow = false\n", kept_out)


#: The example inlet box: 10 L a pulse read every minute, burst_lph 12000, night_burst_lph 3000, burst_min 10.
INLET_STEP_L = 10.0
INLET_SAMPLE = timedelta(minutes=1)
BURST_MIN = timedelta(minutes=10)


def _window(threshold_lph: float) -> timedelta:
    """The span the burst flow is averaged over: 10 meter steps at the threshold, 1 min to burst_min / 2."""
    return min(BURST_MIN / 2, max(timedelta(minutes=1), timedelta(hours=10 * INLET_STEP_L / threshold_lph)))


def test_agent_leak_night_burst_closes_the_valve_only_inside_the_night_window(tmp_path: Path) -> None:
    # 6000 L/h on ~400 L/h of night use is between night_burst_lph (3000) and burst_lph (12000): a burst at
    # night. Right after the window (05:00) the same burst, and the village's own morning and evening peaks
    # (well above 3000 L/h, below 12000), are not.
    bursts = _burst("2026-11-08T05:00", "2h", 6000.0) + _burst("2026-11-09T03:10", "8h", 6000.0)
    with box_run(tmp_path, inlet_world("2026-11-07T20:00", "2d", bursts), box=INLET, edit=_burst_only) as run:
        run.run_until(local("2026-11-09T03:10"))
        assert _alarms(run, "leak-inlet") == [], "a flow between the thresholds raised an alarm outside the night"
        assert run.traces["inlet-valve"].switches() == []
        run.run_until(local("2026-11-09T04:00"))
        closes = [t for t, on in run.traces["inlet-valve"].switches() if on]
        alarms = _alarms(run, "leak-inlet")
    start = local("2026-11-09T03:10")
    assert len(closes) == 1
    assert start + BURST_MIN - _window(3000.0) <= closes[0] <= start + BURST_MIN + INLET_SAMPLE, closes[0]
    assert [a.data["alarm_kind"] for a in alarms] == ["burst"]
    assert alarms[0].data["evidence"]["burst_lph"] == 3000.0


def test_agent_leak_burst_closes_the_valve_until_acknowledged(tmp_path: Path) -> None:
    burst = _burst("2026-11-08T14:00", "8h", 10000.0)  # by day: 10000 L/h on the day's use tops 12000 L/h
    with box_run(tmp_path, inlet_world("2026-11-08T08:00", "1d", burst), box=INLET, edit=_burst_only) as run:
        start = local("2026-11-08T14:00")
        run.run_until(start)
        assert run.traces["inlet-valve"].switches() == [], "valve closed before the burst"
        run.run_until(start + timedelta(minutes=30))
        closes = [t for t, on in run.traces["inlet-valve"].switches() if on]
        assert len(closes) == 1
        assert start + BURST_MIN - _window(12000.0) <= closes[0] <= start + BURST_MIN + INLET_SAMPLE, closes[0]
        assert run.sim.world.valve_closed
        assert [a.data["alarm_kind"] for a in _alarms(run, "leak-inlet")] == ["burst"]
        flowed = run.sim.world.volume_l("inlet-meter")
        run.run_until(start + timedelta(minutes=50))
        assert run.sim.world.volume_l("inlet-meter") == pytest.approx(flowed), "water still flows"
        technician = run.technician_store()
        refused = set_relay(technician, run.config, "inlet-valve", "off", run.sim.now, duration=timedelta(hours=1))
        assert not refused.accepted and "burst" in refused.message.lower(), refused.message
        latched = [a for a in technician.latched_alarms() if a.kind == "burst"]
        assert latched
        alarm, _ = ack_alarm(technician, latched[0].id, "technician:test", run.sim.now)
        technician.close()
        assert alarm is not None
        acked_at = run.sim.now
        run.run_until(acked_at + timedelta(minutes=5))
        assert not run.traces["inlet-valve"].at(acked_at + timedelta(minutes=4)), "valve still closed after the ack"
