"""The demo's plain-language story, told from a report dict written here (a week of the town hall in January)."""

from __future__ import annotations

import copy
from typing import Any

from edge.simulation.story import comfort, format_story, tell

REPORT: dict[str, Any] = {
    "timezone": "Europe/Paris", "days": 7.0, "run_s": 15.0,
    "start": "2026-01-05T00:00:00+01:00", "end": "2026-01-12T00:00:00+01:00",
    "lighting": {"street-main": {
        "on_hours": 60.0, "baseline_on_hours": 100.0, "dark_unlit_minutes": 0.0, "switches": 8,
        "dark_unlit_minutes_by_cause": {"power_cut": 0.0, "sensor_fallback": 0.0, "agent": 0.0},
    }},
    "leak": {"water-main": {
        "watch": "leak-hall", "false_alarms": 0,
        "alarms": [{"kind": "continuous_flow", "raised_at": "2026-01-06T06:15:00+01:00", "reason": "..."}],
        "incidents": [
            {"kind": "leak", "start": "2026-01-05T12:00:00+01:00", "rate_lph": 4.0, "detected_after_h": 18.25},
            {"kind": "burst", "start": "2026-01-10T19:00:00+01:00", "rate_lph": 120.0, "detected_after_h": None},
        ],
    }},
    "heating": {"hall": {"min_temperature_c": 11.46, "comfort_minutes_missed": 30.0, "heater_on_hours": 80.0}},
    # The lux sensor fails on Wednesday (13:00 UTC is 14:00 in Paris in winter).
    "faults": [{"source": "lux-roof", "code": "not_plugged", "reason": "", "start": "2026-01-07T13:00:00+00:00",
                "end": "2026-01-08T10:00:00+01:00"}],
    "timeline": {
        "sun": [{"sunset": "2026-01-05T17:12:00+01:00"}, {"sunrise": "2026-01-06T08:14:00+01:00"},
                {"sunset": "2026-01-06T17:13:00+01:00"}, {"sunset": "2026-01-07T17:14:00+01:00"}],
        "lighting": {"street-main": {
            "relay": "street-lights", "lux_sensor": "lux-roof", "load_w": 740.0, "on_below_lx": 30.0,
            "off_above_lx": 60.0,
            "switchings": [
                {"at": "2026-01-05T05:30:00+01:00", "on": True, "why": "cutoff_end"},
                {"at": "2026-01-05T08:07:00+01:00", "on": False, "why": "light"},
                {"at": "2026-01-05T17:33:00+01:00", "on": True, "why": "light"},
                {"at": "2026-01-05T23:00:00+01:00", "on": False, "why": "cutoff"},
                {"at": "2026-01-06T16:13:00+01:00", "on": True, "why": "light"},  # in the storm
                {"at": "2026-01-06T23:00:00+01:00", "on": False, "why": "cutoff"},
                {"at": "2026-01-07T17:11:00+01:00", "on": True, "why": "sun_clock"},  # sensor failed
                {"at": "2026-01-07T23:00:00+01:00", "on": False, "why": "cutoff"},
            ],
        }},
        "heating": {"hall": {"frost_c": 7.0, "eco_c": 15.0, "comfort_c": 19.0, "blind": [
            {"start": "2026-01-09T06:05:00+01:00", "end": "2026-01-10T18:02:00+01:00", "min_c": 11.46,
             "min_outdoor_c": -16.5},
        ]}},
        "nights": {"water-main": []},
        "world": {
            "storms": [{"start": "2026-01-06T15:30:00+01:00", "end": "2026-01-06T18:00:00+01:00", "light_pct": 0.4}],
            "cold_snaps": [{"start": "2026-01-08T00:00:00+01:00", "end": "2026-01-12T00:00:00+01:00",
                            "temperature_c": -12.0}],
            "sensor_faults": [], "water": [], "power_cuts": [],
        },
    },
}


def test_story_tells_each_thing_the_box_did_in_one_sentence() -> None:
    assert tell(REPORT) == [
        ("The street lights (street-main) came on at 17:33 on Mon 5 Jan when it got dark, 21 min after sunset, "
        "and went off at the 23:00 cut-off, when the village sleeps."),
        ("During the storm on Tue 6 Jan (15:30-18:00) they came on at 16:13, 1 h before sunset, because the street "
        "was dark, not because a clock said so."),
        ("On Wed 7 Jan the light sensor failed at 14:00; the lights followed the sunset clock instead, on at 17:11, "
        "3 min before sunset, until it was mended at 10:00 on Thu 8 Jan, with no dark minutes."),
        ("A leak of 4 L/h started on Mon 5 Jan at 12:00 behind meter water-main and was caught 18 h 15 min later, "
        "on Tue 6 Jan at 06:15 (water had run without a one-hour pause for a whole day), with about 73 L lost by "
        "then."),
        ("A burst pipe of 120 L/h started on Sat 10 Jan at 19:00 behind meter water-main, and no alarm had caught it "
         "by the end of the run."),
        ("With its thermometers broken in a -12 °C cold snap (down to -16.5 °C outside), the hall never fell below "
        "11.5 °C (frost line 7 °C): from Fri 9 Jan 06:05 to Sat 10 Jan 18:02 the box heated on a timed duty "
        "instead."),
        # 40 h saved at 740 W: 29.6 kWh, at 0.25 €: 7.40 €.
        ("The lamps were lit 60 h against 100 h for a dusk-to-dawn clock: 40 % less, about 30 kWh and 7.40 € saved "
        "(lamps of 740 W, at 0.25 € per kWh)."),
    ]


def test_story_savings_follow_the_price_given() -> None:
    # 29.6 kWh at 0.18 € per kWh: 5.33 €.
    assert tell(REPORT, price_eur_per_kwh=0.18)[-1].endswith("about 30 kWh and 5.33 € saved (lamps of 740 W, at "
                                                             "0.18 € per kWh).")


def test_story_says_so_when_a_storm_left_enough_light_and_a_fallback_left_dark_minutes() -> None:
    report = copy.deepcopy(REPORT)
    report["timeline"]["world"]["storms"] = [
        {"start": "2026-01-06T11:00:00+01:00", "end": "2026-01-06T13:00:00+01:00", "light_pct": 8.0},
    ]
    report["lighting"]["street-main"]["dark_unlit_minutes_by_cause"]["sensor_fallback"] = 12.0
    sentences = tell(report)
    assert "During the storm on Tue 6 Jan (11:00-13:00) it never got dark enough to light them." in sentences
    assert sentences[2].endswith("until it was mended at 10:00 on Thu 8 Jan, with 12 dark minutes.")
    # The storm no longer explains Tuesday's 16:13: Monday stays the usual evening (the first one lit by the dark).
    assert sentences[0].startswith("The street lights (street-main) came on at 17:33 on Mon 5 Jan")


def test_story_without_lamp_load_gives_hours_only_and_names_the_outside_cold_without_a_snap() -> None:
    report = copy.deepcopy(REPORT)
    report["timeline"]["lighting"]["street-main"]["load_w"] = 0.0
    report["timeline"]["world"]["cold_snaps"] = []
    sentences = tell(report)
    assert sentences[-1] == "The lamps were lit 60 h against 100 h for a dusk-to-dawn clock: 40 % less."
    assert sentences[-2].startswith("With its thermometers broken and down to -16.5 °C outside, the hall never fell")


def test_story_says_when_nothing_leaked_or_an_alarm_was_false_and_how_cold_a_seeing_zone_got() -> None:
    report = copy.deepcopy(REPORT)
    report["leak"]["water-main"]["incidents"] = []
    report["timeline"]["heating"]["hall"]["blind"] = []
    sentences = tell(report)
    assert "Nothing leaked behind meter water-main, and the leak watch raised no false alarm." in sentences
    assert "The hall never fell below 11.5 °C (frost line 7 °C)." in sentences
    report["leak"]["water-main"]["false_alarms"] = 2
    assert "The leak watch on meter water-main raised 2 alarms with no leak behind it." in tell(report)


def test_story_tells_a_lux_sensor_still_broken_at_the_end_or_failed_by_day_only() -> None:
    report = copy.deepcopy(REPORT)
    report["faults"][0]["end"] = None
    assert ("On Wed 7 Jan the light sensor failed at 14:00; the lights followed the sunset clock instead, on at "
            "17:11, 3 min before sunset, until the end of the run, with no dark minutes.") in tell(report)
    report["faults"][0].update(start="2026-01-05T09:00:00+01:00", end="2026-01-05T12:00:00+01:00")
    assert ("On Mon 5 Jan the light sensor failed at 09:00; the lamps had no need of it before it was mended at "
            "12:00 on Mon 5 Jan.") in tell(report)


def test_story_text_heads_with_the_span_in_local_days() -> None:
    text = format_story(REPORT)
    lines = text.splitlines()
    assert lines[0] == "What the box did from Mon 5 Jan to Mon 12 Jan 2026:"
    assert len(lines) == 8 and all(line.startswith("- ") for line in lines[1:])


def test_story_gives_comfort_missed_out_of_the_opening_hours() -> None:
    report = copy.deepcopy(REPORT)
    # 30 min missed of 40 h (2400 min) of comfort periods: 1 - 30 / 2400 = 98.75 %, said as 99 %.
    report["heating"]["hall"]["comfort_minutes_scheduled"] = 2400.0
    assert comfort(report) == [
        ("The hall was warm for 99 % of its 40 h of opening hours; "
        "it was below its comfort temperature for 30 min in all.")
    ]
    report["heating"]["hall"]["comfort_minutes_missed"] = 0.0
    assert comfort(report) == ["The hall was warm for all 40 h of its opening hours."]
    report["heating"]["hall"]["comfort_minutes_scheduled"] = 0.0
    assert comfort(report) == []
