"""Valve policy through the real agent: a hydrant's night draw on an inlet and on a building, the automatic
reopening and a technician's confirmation, the fire brigade's key switch (a digital input on simulated GPIO)
and the `hydrant` command, and technicians' actions written in the world file, done at their times.

The box: a 10 L/pulse meter read every minute, the valve relay, the key switch (pull-up, active low) read
every 10 s; night_burst_lph 3000 between 01:00 and 05:00, burst_min 10. The village uses about 400 L/h at
night; a hydrant draws 6000 L/h. Expected times come from the config written here: the burst alarm once
the flow, averaged over 10 meter steps (2 min at 3000 L/h), has stayed above 3000 L/h for 10 min.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from simbox import PARIS, BoxRun, box_run, local

from edge.cli import _parser
from edge.technician.valve import run_valve_command

SAMPLE = timedelta(minutes=1)
BURST_MIN = timedelta(minutes=10)
#: The flow is averaged over 10 meter steps at the threshold: 10 x 10 L at 3000 L/h is 2 min.
WINDOW = timedelta(minutes=2)
DRAW = local("2026-11-08T03:00")


def _box(policy: str) -> str:
    return f"""
[device]
id = "saint-aubin-chateau-eau"
latitude = 45.192
longitude = 5.741
timezone = "Europe/Paris"

[simulation]
enabled = true
flow_lph = 400.0

[buses.gpio]
type = "gpio"

[[sensors]]
id = "water-main"
driver = "pulse_meter"
bus = "gpio"
pin = 17
litres_per_pulse = 10.0
debounce_s = 0.005
interval_s = 60

[[sensors]]
id = "fire-key"
driver = "digital_input"
bus = "gpio"
pin = 5
interval_s = 10

[[actuators]]
id = "main-valve"
driver = "relay"
bus = "gpio"
pin = 22
safe_state = "off"

[agent]
db_path = "/var/lib/hameau/hameau.db"
commit_interval_s = 120

[[leak]]
id = "leak-main"
meter = "water-main"
continuous_flow = false
warmup_nights = 60
baseline_nights = 60
burst_lph = 12000.0
night_burst_lph = 3000.0
burst_min = 10
valve_relay = "main-valve"
{policy}
"""


def _world(extra: str, hours: int = 5) -> str:
    return f"""
[site]
start = "2026-11-08T02:00"
duration = "{hours}h"
seed = 31

[water]
valve = "main-valve"
valve_closed_when = "energised"

[[water.meters]]
sensor = "water-main"
profile = "village"
night_lph = 400.0
day_lph = 4500.0
noise_pct = 10.0
{extra}
"""


def _hydrant(duration: str, key_switch: bool = False) -> str:
    key = 'key_switch = "fire-key"\n' if key_switch else ""
    return (f'[[hydrants]]\nmeter = "water-main"\nstart = "2026-11-08T03:00"\nduration = "{duration}"\n'
            f"rate_lph = 6000.0\n{key}")


def _bursts(run: BoxRun) -> list:
    return [e for e in run.events(kind="alarm", source="leak-main") if e.data["alarm_kind"] == "burst"]


def _policy(run: BoxRun, what: str) -> list:
    return [e for e in run.events(source="leak-main") if e.data.get("policy") == what]


def _switches(run: BoxRun) -> list[tuple[datetime, bool]]:
    return run.traces["main-valve"].switches()


def _alarm_due(start: datetime) -> tuple[datetime, datetime]:
    return start + BURST_MIN - WINDOW, start + BURST_MIN + SAMPLE


def test_agent_valve_policy_inlet_alarms_on_a_night_hydrant_draw_and_leaves_the_valve_open(tmp_path: Path) -> None:
    with box_run(tmp_path, _world(_hydrant("1h")), box=_box('role = "inlet"')) as run:
        run.run_until(local("2026-11-08T04:30"))
        bursts, withheld = _bursts(run), _policy(run, "withheld")
    assert len(bursts) == 1
    earliest, latest = _alarm_due(DRAW)
    assert earliest <= bursts[0].at <= latest, bursts[0].at
    assert "valve main-valve left open: valve policy is alarm only" in bursts[0].reason
    assert [e.at for e in withheld] == [bursts[0].at] and "valve_policy = alarm_only" in withheld[0].reason
    assert _switches(run) == [], "the inlet valve moved"
    assert not run.sim.world.valve_closed


def test_agent_valve_policy_building_closes_then_reopens_after_reopen_after_min(tmp_path: Path) -> None:
    # The draw goes on for 3 h: closed at the burst, reopened 60 min later, and not closed again while the
    # alarm is latched (the policy acts once per alarm).
    with box_run(tmp_path, _world(_hydrant("3h"), hours=5), box=_box("reopen_after_min = 60")) as run:
        run.run_until(local("2026-11-08T03:30"))
        assert run.sim.agent is not None
        interlock = run.sim.agent.interlocks["leak-main"]["main-valve"]
        run.run_until(local("2026-11-08T06:30"))
        bursts, reopened = _bursts(run), _policy(run, "auto_reopened")
    closes = [t for t, on in _switches(run) if on]
    opens = [t for t, on in _switches(run) if not on]
    earliest, latest = _alarm_due(DRAW)
    assert len(closes) == 1 and earliest <= closes[0] <= latest, closes
    assert "closing valve main-valve" in bursts[0].reason
    assert len(opens) == 1 and closes[0] + timedelta(minutes=60) <= opens[0] <= closes[0] + timedelta(minutes=61), opens
    assert len(reopened) == 1 and "reopened automatically after 60 min" in reopened[0].reason
    due = {f"{(t + timedelta(minutes=60)).astimezone(PARIS):%H:%M}" for t in (closes[0] - SAMPLE, closes[0])}
    assert any(f"reopens by itself at {hhmm} unless a technician confirms" in interlock for hhmm in due), interlock
    assert opens[0] - SAMPLE <= reopened[0].at <= opens[0]


def test_agent_valve_policy_confirmed_closure_stays_shut_until_the_ack_after_repair(tmp_path: Path) -> None:
    # The world's technician confirms at 03:30, tries to open the valve at 04:30 (refused: it is held closed),
    # repairs (the draw ends at 04:45) and acknowledges at 05:00: the valve stays shut past 04:10 + 60 min
    # and opens at the acknowledgement.
    actions = """
[[actions]]
at = "2026-11-08T03:30"
kind = "confirm"
watch = "main-valve"

[[actions]]
at = "2026-11-08T04:30"
kind = "override"
relay = "main-valve"
state = "off"
duration = "1h"

[[actions]]
at = "2026-11-08T05:30"
kind = "ack"
watch = "leak-main"
alarm = "burst"
"""
    with box_run(tmp_path, _world(_hydrant("1h45m") + actions, hours=5), box=_box("reopen_after_min = 60")) as run:
        run.run_until(local("2026-11-08T05:40"))
        confirmed, acked = _policy(run, "confirmed"), run.events(kind="alarm_acked", source="leak-main")
        done = run.sim.on_site.done
        auto_reopened = _policy(run, "auto_reopened")
    closes = [t for t, on in _switches(run) if on]
    opens = [t for t, on in _switches(run) if not on]
    ack_at = local("2026-11-08T05:30")
    assert len(closes) == 1 and opens == [opens[0]], _switches(run)
    assert closes[0] + timedelta(minutes=61) < ack_at <= opens[0] <= ack_at + SAMPLE, (closes, opens)
    assert [d.accepted for d in done] == [True, False, True], [d.message for d in done]
    assert [d.at - d.action.at for d in done] == [timedelta(0)] * 3
    assert "interlocked" in done[1].message
    assert len(confirmed) == 1 and "confirmed by technician:world" in confirmed[0].reason
    assert local("2026-11-08T03:30") <= confirmed[0].at <= local("2026-11-08T03:30") + SAMPLE
    assert len(acked) == 1 and ack_at <= acked[0].at <= ack_at + SAMPLE
    assert auto_reopened == []


def test_agent_valve_policy_key_switch_keeps_the_valve_open_and_holds_after_release(tmp_path: Path) -> None:
    # The brigade's key switch is on with the hydrant, 03:00-03:40; the burst goes on after they leave
    # (a [[water.bursts]] from 03:40). The inhibit holds 20 min after the release, until 04:00; the burst must
    # then hold burst_min on its own: the valve closes at 04:10.
    burst = '[[water.bursts]]\nmeter = "water-main"\nstart = "2026-11-08T03:40"\nduration = "3h"\nrate_lph = 6000.0\n'
    world = _world(_hydrant("40m", key_switch=True) + burst, hours=4)
    with box_run(tmp_path, world, box=_box("valve_policy = \"close\"\nhydrant_input = \"fire-key\"\n"
                                           "hydrant_hold_min = 20\nreopen_after_min = 0")) as run:
        run.run_until(local("2026-11-08T04:30"))
        bursts = _bursts(run)
        started, held, ended = (_policy(run, w) for w in ("hydrant_started", "hydrant_held", "hydrant_ended"))
        left_open = _policy(run, "left_open")
    release, hold_end = local("2026-11-08T03:40"), local("2026-11-08T04:00")
    assert len(bursts) == 1 and "left open: hydrant in use (key switch fire-key active)" in bursts[0].reason
    assert left_open[0].at == bursts[0].at and "hydrant in use" in left_open[0].reason
    assert len(left_open) == 2 and "hydrant inhibit over" in left_open[1].reason
    assert hold_end <= left_open[1].at <= hold_end + 2 * SAMPLE
    assert len(started) == 1 and DRAW <= started[0].at <= DRAW + SAMPLE and started[0].data["source"] == "input"
    assert len(held) == 1 and release <= held[0].at <= release + SAMPLE and "held 20 min more" in held[0].reason
    assert len(ended) == 1 and hold_end <= ended[0].at <= hold_end + 2 * SAMPLE
    closes = [t for t, on in _switches(run) if on]
    assert len(closes) == 1 and hold_end + BURST_MIN <= closes[0] <= ended[0].at + BURST_MIN + SAMPLE, closes


def test_agent_valve_policy_hydrant_command_reopens_a_closed_valve_until_it_ends(tmp_path: Path) -> None:
    # The valve closed at the burst (~03:10); at 03:20 a technician types `hameau-edge hydrant main-valve --for
    # 30m`: the valve reopens at once and is not closed again before 03:50; then the draw, still there,
    # closes it once it has held burst_min on its own (04:00).
    with box_run(tmp_path, _world(_hydrant("3h"), hours=3), box=_box("reopen_after_min = 0")) as run:
        run.run_until(local("2026-11-08T03:20"))
        assert [on for _, on in _switches(run)] == [True]
        args = _parser().parse_args(["hydrant", "main-valve", "--for", "30m", "--reason", "fire at the farm"])
        store = run.technician_store()
        try:
            said = run_valve_command(store, run.config, args, run.sim.now, lambda: "technician:anne")
        finally:
            store.close()
        typed = run.sim.now
        run.run_until(local("2026-11-08T04:10"))
        started, ended = _policy(run, "hydrant_started"), _policy(run, "hydrant_ended")
        reopened = _policy(run, "reopened_hydrant")
    assert said == 0
    switched = _switches(run)
    assert [on for _, on in switched] == [True, False, True], switched
    assert typed <= switched[1][0] <= typed + SAMPLE
    ended_at = typed + timedelta(minutes=30)
    assert ended_at + BURST_MIN <= switched[2][0] <= ended_at + BURST_MIN + 2 * SAMPLE, switched
    assert len(started) == 1 and started[0].data["source"] == "command" and "technician:anne" in started[0].reason
    assert len(reopened) == 1 and "technician's command" in reopened[0].reason
    assert len(ended) == 1 and "its period is over" in ended[0].reason


def test_agent_valve_policy_after_the_key_switch_only_a_burst_flowing_for_burst_min_closes(tmp_path: Path) -> None:
    # The hydrant and its key switch stop together at 03:40 (hold 0): the night flow is back to ~400 L/h, so the
    # valve stays open though the alarm is latched. A burst at 04:00 closes it once it has flowed burst_min.
    burst = '[[water.bursts]]\nmeter = "water-main"\nstart = "2026-11-08T04:00"\nduration = "2h"\nrate_lph = 6000.0\n'
    world = _world(_hydrant("40m", key_switch=True) + burst, hours=4)
    with box_run(tmp_path, world, box=_box("hydrant_input = \"fire-key\"\nhydrant_hold_min = 0\n"
                                           "reopen_after_min = 0")) as run:
        run.run_until(local("2026-11-08T03:59"))
        assert _switches(run) == [], "the valve closed after the hydrant without a burst"
        gone = [e for e in _policy(run, "left_open") if "hydrant inhibit over" in e.reason]
        run.run_until(local("2026-11-08T04:30"))
        bursts = _bursts(run)
    release = local("2026-11-08T03:40")
    assert len(gone) == 1 and release <= gone[0].at <= release + 2 * SAMPLE, gone
    assert len(bursts) == 1 and bursts[0].at < release, "one alarm: the hydrant's, still latched"
    closes = [t for t, on in _switches(run) if on]
    earliest, latest = _alarm_due(local("2026-11-08T04:00"))
    assert len(closes) == 1 and earliest <= closes[0] <= latest, closes
