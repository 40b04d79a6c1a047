"""The simulation report speaks the box's local time, with its zone."""

from __future__ import annotations

from edge.simulation.report import format_report


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
