"""The simulation's timeline: each lamp switching with why, sunsets, and the spells a zone ran blind."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from drivers.sim.clock import SimClock
from drivers.sim.parts import SimulatedParts
from drivers.sim.world import World
from edge.config.loader import load_config
from edge.simulation.report import Recorder, Street
from edge.simulation.world_file import load_world

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PARIS = ZoneInfo("Europe/Paris")
DARK = {"street-lights": False, "hall-heating": False}
LIT = {"street-lights": True, "hall-heating": False}


def _recorder() -> Recorder:
    box = load_config(EXAMPLES / "village-hall.toml")
    spec = load_world(EXAMPLES / "village-hall-world.toml", box.device, box)
    return Recorder(box, World(spec, SimulatedParts(SimClock(epoch=spec.site.start))))


def _run(recorder: Recorder, start: datetime, minutes: int, street: Street) -> datetime:
    for minute in range(minutes):
        recorder.observe(start + timedelta(minutes=minute), 60.0, street)
    return start + timedelta(minutes=minutes)


def test_timeline_names_why_each_switching_happened() -> None:
    recorder = _recorder()
    # Tuesday 13 January 2026: the cut-off runs 23:00-05:30.
    at = _run(recorder, datetime(2026, 1, 13, 22, 50, tzinfo=PARIS), 10, Street(True, LIT, frozenset()))
    at = _run(recorder, at, 390, Street(True, DARK, frozenset()))  # 23:00: off for the cut-off
    at = _run(recorder, at, 150, Street(True, LIT, frozenset()))  # 05:30: the cut-off ends
    at = _run(recorder, at, 9 * 60, Street(True, DARK, frozenset()))  # 08:00: daylight
    astro = {"street-main": "astronomical"}
    at = _run(recorder, at, 30, Street(True, LIT, frozenset({"street-main"}), astro))  # 17:00: sun clock
    _run(recorder, at, 10, Street(False, DARK, frozenset()))  # 17:30: the mains goes
    assert [(s["at"][11:16], s["on"], s["why"]) for s in recorder.timeline.switchings["street-main"]] == [
        ("23:00", False, "cutoff"), ("05:30", True, "cutoff_end"), ("08:00", False, "light"),
        ("17:00", True, "sun_clock"), ("17:30", False, "power"),
    ]


def test_timeline_finds_the_sunset_of_the_day() -> None:
    recorder = _recorder()
    _run(recorder, datetime(2026, 1, 13, 16, 50, tzinfo=PARIS), 60, Street(True, DARK, frozenset()))
    # Grenoble (45.19 N, 5.73 E), 13 January: sunset at about 17:20 local time (almanac).
    (sun,) = recorder.timeline.sun
    sunset = datetime.fromisoformat(sun["sunset"])
    assert datetime(2026, 1, 13, 17, 16, tzinfo=PARIS) <= sunset <= datetime(2026, 1, 13, 17, 24, tzinfo=PARIS)


def test_timeline_keeps_each_blind_spell_with_the_coldest_it_got() -> None:
    recorder = _recorder()
    blind = Street(True, DARK, frozenset(), {"hall": "fallback"})
    seeing = Street(True, DARK, frozenset(), {"hall": "eco"})
    at = _run(recorder, datetime(2026, 1, 13, 6, 0, tzinfo=PARIS), 5, seeing)
    at = _run(recorder, at, 20, blind)
    at = _run(recorder, at, 5, seeing)
    at = _run(recorder, at, 5, Street(False, DARK, frozenset()))  # box off: no mode, the spell stays as it was
    (spell,) = recorder.timeline.blind["hall"]
    assert spell.start == datetime(2026, 1, 13, 6, 5, tzinfo=PARIS)
    assert spell.end == datetime(2026, 1, 13, 6, 25, tzinfo=PARIS)
    assert spell.min_c == 15.0  # the world file's initial_c: the zone was never stepped
