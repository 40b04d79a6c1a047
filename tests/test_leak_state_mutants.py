"""The leak watch's saved state and its meter tracking across gaps: survivors of bench/mutation.py.

Contracts written out here (README, module docstrings): the JSON the agent saves every tick is
exactly dumps(state_to_dict(state)) whatever was saved before, and loads back to the same state
(after a restart or a power cut, latched alarms and learned nights are restored); across a gap in
the meter data longer than max_gap_min the volume is known but not when it flowed, so the gap is
counted on its night, the continuous-flow window restarts, and the burst run is forgotten.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, time
from zoneinfo import ZoneInfo

from edge.controllers.leak.meter import (
    MeterParams,
    MeterTrack,
    NightData,
    ingest,
    restart_window,
)
from edge.controllers.leak.state import (
    LatchedAlarm,
    LeakState,
    NightRecord,
    StateJson,
    state_from_dict,
    state_to_dict,
)
from edge.controllers.leak.stats import Detector, NightWindows
from edge.storage.schema import to_json

PARIS = ZoneInfo("Europe/Paris")
NIGHT = NightData("2026-03-02", (1.0, 2.0, 0.5, 0.0), (3600.0, 3600.0, 1800.0, 0.0), gaps=1)
TRACK = MeterTrack(last_at=1_000.0, last_total_l=12.5, observed_since=500.0, observed_since_total_l=10.0,
                   zero_run_since=900.0, recent=((900.0, 12.0), (1_000.0, 12.5)), flow_lph=18.0, night=NIGHT)


def _states() -> list[LeakState]:
    first = LeakState(track=TRACK)
    learned = replace(first, analysed_through="2026-03-02",
                      nights=(NightRecord("2026-03-02", 1.5, "learned", 1.2, 0.4, 0.75, 0.0),),
                      detector=Detector(((1.0, 1.5),), ((2.0, 1.4),), 0.5), mode="watching", reason="night ok")
    alarmed = replace(learned, alarms=(LatchedAlarm("leak-main/night", "night_flow", 5_000.0, "night flow", {"n": 1}),),
                      mode="alarm", reason="night flow alarm")
    moved = replace(alarmed, track=replace(TRACK, last_at=2_000.0, night=replace(NIGHT, gaps=2)))
    renamed = replace(moved, reason="night flow alarm (acknowledge to clear)", analysed_through="2026-03-03")
    return [first, learned, alarmed, moved, renamed, first]


def test_leak_state_json_is_always_the_full_encoding() -> None:
    # With the agent's own compact encoder (edge.storage.schema.to_json).
    encoder = StateJson(to_json)
    for state in _states():
        text = encoder.encode(state)
        assert text == to_json(state_to_dict(state))
        assert state_from_dict(json.loads(text)) == state


def test_leak_state_json_follows_the_last_night_analysed() -> None:
    encoder = StateJson(to_json)
    for state in (LeakState(analysed_through="2026-03-02"), LeakState(analysed_through=None), LeakState()):
        assert encoder.encode(state) == to_json(state_to_dict(state))


def _params() -> MeterParams:
    windows = NightWindows(time(1, 0), time(5, 0), 3600.0, PARIS)
    return MeterParams(windows, max_gap_s=900.0, zero_flow_s=3600.0, burst_lph=600.0, burst_s=600.0, resolution_l=1.0)


def test_leak_state_a_gap_inside_the_night_is_counted_and_forgets_the_burst_run() -> None:
    params = _params()
    night = date(2026, 3, 3)
    start_s, _ = params.windows.bounds(night)
    track = ingest(MeterTrack(), start_s + 60, 100.0, params, None).track
    track = ingest(track, start_s + 120, 101.0, params, None).track
    after = ingest(track, start_s + 3_000, 150.0, params, None)
    assert after.kind == "gap"
    gapped = after.track
    assert gapped.night is not None and (gapped.night.night, gapped.night.gaps) == ("2026-03-03", 1)
    assert (gapped.last_at, gapped.last_total_l) == (start_s + 3_000, 150.0)
    assert (gapped.observed_since, gapped.observed_since_total_l) == (start_s + 3_000, 150.0)
    assert gapped.zero_run_since == start_s + 3_000  # water flowed during the gap
    assert (gapped.recent, gapped.above_since, gapped.flow_lph) == (((start_s + 3_000, 150.0),), None, None)
    again = ingest(gapped, start_s + 6_000, 150.0, params, None).track
    assert again.night is not None and again.night.gaps == 2
    assert again.zero_run_since == start_s + 3_000  # an unchanged total across the gap: nothing flowed


def test_leak_state_a_gap_on_an_analysed_night_is_not_recorded() -> None:
    params = _params()
    start_s, _ = params.windows.bounds(date(2026, 3, 3))
    track = ingest(MeterTrack(), start_s + 60, 100.0, params, "2026-03-03").track
    gapped = ingest(track, start_s + 3_000, 150.0, params, "2026-03-03").track
    assert gapped.night is None
    later = ingest(MeterTrack(), start_s + 60, 100.0, params, "2026-03-02").track
    assert ingest(later, start_s + 3_000, 150.0, params, "2026-03-02").track.night is not None


def test_leak_state_restarting_the_window_keeps_the_total() -> None:
    restarted = restart_window(TRACK)
    assert (restarted.observed_since, restarted.observed_since_total_l) == (1_000.0, 12.5)
