"""The simulation report speaks the box's local time, with its zone, and counts what the street sees."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from drivers.sim.clock import SimClock
from drivers.sim.parts import SimulatedParts
from drivers.sim.world import World
from edge.config.loader import load_config
from edge.simulation.report import Recorder, Street, format_report
from edge.simulation.world_file import load_world


def test_simulation_report_text_gives_local_times_with_their_zone() -> None:
    report = {
        "timezone": "Europe/Paris", "days": 1.0, "run_s": 0.5,
        "start": "2026-01-13T11:00:00+00:00", "end": "2026-01-14T11:00:00+00:00",
        "lighting": {}, "heating": {},
        "leak": {"water-main": {"watch": "leak-hall", "alarms": [], "false_alarms": 0, "incidents": [
            {"kind": "leak", "start": "2026-07-13T22:30:00+00:00", "rate_lph": 2.0, "detected_after_h": None},
        ]}},
        "faults": [{"source": "lux-roof", "code": "not_plugged", "reason": "", "start": "2026-01-13T14:00:00+00:00",
                    "end": None}],
    }
    text = format_report(report)
    assert "from 2026-01-13 12:00 CET" in text  # 11:00 UTC is noon in Paris in winter
    assert "leak of 2 L/h from 2026-07-14 00:30 CEST: never detected" in text  # summer time: UTC+2
    assert "lux-roof not_plugged from 2026-01-13 15:00 CET to the end" in text


def test_simulation_report_text_splits_dark_minutes_by_cause() -> None:
    report = {
        "timezone": "Europe/Paris", "days": 1.0, "run_s": 0.5,
        "start": "2026-01-13T11:00:00+00:00", "end": "2026-01-14T11:00:00+00:00",
        "lighting": {"street-main": {
            "on_hours": 10.0, "baseline_on_hours": 15.0, "dark_unlit_minutes": 57.0, "switches": 4,
            "dark_unlit_minutes_by_cause": {"power_cut": 45.0, "sensor_fallback": 0.0, "agent": 12.0},
        }},
        "heating": {}, "leak": {}, "faults": [],
    }
    text = format_report(report)
    assert "dark and unlit outside the cut-off 57 min (power cut 45 min, agent 12 min), 4 switchings" in text


def test_simulation_recorder_counts_dark_minutes_by_cause_outside_the_cut_off_only() -> None:
    examples = Path(__file__).resolve().parent.parent / "examples"
    box = load_config(examples / "village-hall.toml")
    spec = load_world(examples / "village-hall-world.toml", box.device, box)
    recorder = Recorder(box, World(spec, SimulatedParts(SimClock(epoch=spec.site.start))))
    paris = ZoneInfo("Europe/Paris")
    night = datetime(2026, 1, 13, 21, 0, tzinfo=paris)  # a Tuesday: the cut-off runs 23:00-05:30
    dark = {"street-lights": False, "hall-heating": False}
    steps = [  # (start, minutes, what the street sees)
        (night, 3, Street(True, dark, frozenset())),  # the agent left it dark
        (night.replace(hour=21, minute=10), 2, Street(True, dark, frozenset({"street-main"}))),  # lux fallback
        (night.replace(hour=22), 5, Street(False, dark, frozenset())),  # a power cut
        (night.replace(hour=23, minute=30), 30, Street(True, dark, frozenset())),  # the cut-off: wanted dark
        (night.replace(hour=22, minute=30), 4, Street(True, {**dark, "street-lights": True}, frozenset())),  # lit
    ]
    for start, minutes, street in steps:
        for minute in range(minutes):
            recorder.observe(start.replace(minute=start.minute + minute), 60.0, street)
    circuit = recorder.circuits["street-main"]
    assert {cause: s / 60 for cause, s in circuit.dark_unlit_s.items()} == {
        "power_cut": 5.0, "sensor_fallback": 2.0, "agent": 3.0,
    }
    assert circuit.on_s == 4 * 60.0
