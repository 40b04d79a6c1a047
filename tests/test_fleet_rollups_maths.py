"""The roll-ups' arithmetic against figures worked out by hand (and, for the sun, an almanac)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.controllers.sun import SunCalendar
from fleet.rollups.compute import decode
from fleet.rollups.marks import touched
from fleet.rollups.maths import (
    dark_seconds,
    day_bounds,
    flow_spans,
    lit_seconds,
    night_days,
    night_figures,
    night_windows,
    nights_touching,
    register_days,
)

PARIS = ZoneInfo("Europe/Paris")
D = date(2026, 1, 14)  # a Wednesday in winter (CET, UTC+1)
D1 = date(2026, 1, 15)


def at(day: date, hh: int, mm: int = 0, ss: int = 0) -> float:
    """Epoch seconds of a Paris wall time."""
    return datetime.combine(day, time(hh, mm, ss), PARIS).timestamp()


def test_rollups_day_bounds_follow_daylight_saving() -> None:
    assert day_bounds(date(2026, 3, 29), PARIS)[1] - day_bounds(date(2026, 3, 29), PARIS)[0] == 23 * 3600
    assert day_bounds(date(2026, 10, 25), PARIS)[1] - day_bounds(date(2026, 10, 25), PARIS)[0] == 25 * 3600
    assert day_bounds(D, PARIS)[1] - day_bounds(D, PARIS)[0] == 24 * 3600


def test_rollups_energy_is_the_register_difference() -> None:
    days = register_days([(at(D, 8), 1000.0), (at(D, 13), 1012.5)], PARIS)
    assert days[D].amount == pytest.approx(12.5)
    assert days[D].samples == 2 and days[D].resets == 0


def test_rollups_energy_across_midnight_is_shared_by_time() -> None:
    # 2 kWh between 23:00 and 01:00: one hour each side of midnight.
    days = register_days([(at(D, 23), 100.0), (at(D1, 1), 102.0)], PARIS)
    assert days[D].amount == pytest.approx(1.0)
    assert days[D1].amount == pytest.approx(1.0)


def test_rollups_energy_reset_counts_nothing_over_the_reset() -> None:
    # 1000 -> 1005 (+5), reset to 0.3 (unknown: nothing), 0.3 -> 2.5 (+2.2).
    samples = [(at(D, 8), 1000.0), (at(D, 10), 1005.0), (at(D, 10, 5), 0.3), (at(D, 12), 2.5)]
    days = register_days(reversed(samples), PARIS)  # in any order
    assert days[D].amount == pytest.approx(7.2)
    assert days[D].resets == 1 and days[D].samples == 4


def test_rollups_energy_over_a_long_gap_goes_to_no_day() -> None:
    days = register_days([(at(D, 6), 10.0), (at(D1, 6), 30.0)], PARIS)  # 24 h apart: when is unknown
    assert days[D].amount == 0.0 and days[D1].amount == 0.0


def test_rollups_lit_time_splits_at_midnight() -> None:
    # Off since 08:00 the day before; on 17:42, off 23:00, on 05:30, off 08:00: 5 h 18 + 2 h 30 = 7 h 48.
    changes = [(at(D, 17, 42), True), (at(D, 23), False), (at(D1, 5, 30), True), (at(D1, 8), False)]
    start, end = day_bounds(D, PARIS)
    lit_d, switches_d = lit_seconds(changes, start, end, horizon=at(D1, 12), initial=False)
    start1, end1 = day_bounds(D1, PARIS)
    lit_d1, switches_d1 = lit_seconds(changes, start1, end1, horizon=at(D1, 12), initial=False)
    assert lit_d == 5 * 3600 + 18 * 60 and switches_d == 2
    assert lit_d1 == 2 * 3600 + 30 * 60 and switches_d1 == 2
    assert lit_d + lit_d1 == 7 * 3600 + 48 * 60


def test_rollups_lit_time_carries_the_state_at_midnight() -> None:
    # On since the evening before, off at 07:15: lit from midnight.
    start, end = day_bounds(D1, PARIS)
    lit, switches = lit_seconds([(at(D1, 7, 15), False)], start, end, horizon=end, initial=True)
    assert lit == 7 * 3600 + 15 * 60 and switches == 1


def test_rollups_lit_time_stops_at_the_data_horizon() -> None:
    start, end = day_bounds(D, PARIS)
    lit, _ = lit_seconds([(at(D, 17), True)], start, end, horizon=at(D, 19), initial=False)
    assert lit == 2 * 3600


def test_rollups_unknown_state_is_not_lit() -> None:
    start, end = day_bounds(D, PARIS)
    lit, switches = lit_seconds([(at(D, 18), None)], start, end, horizon=end, initial=True)
    assert lit == 18 * 3600 and switches == 0


# Almanac (IMCCE / timeanddate) for Paris, 48.8566 N 2.3522 E: 21 June 2026 sunrise 05:47, sunset 21:58
# (CEST); 21 December 2026 sunrise 08:42, sunset 16:56 (CET). Dark = sunrise - 00:00 + 24:00 - sunset.
@pytest.mark.parametrize(("day", "dark_min"), [
    (date(2026, 6, 21), 5 * 60 + 47 + 2 * 60 + 2),
    (date(2026, 12, 21), 8 * 60 + 42 + 7 * 60 + 4),
])
def test_rollups_dark_time_matches_the_almanac(day: date, dark_min: int) -> None:
    calendar = SunCalendar(48.8566, 2.3522, "Europe/Paris")
    assert abs(dark_seconds(calendar, day) - dark_min * 60) <= 180


def test_rollups_dark_time_in_polar_night_and_day() -> None:
    tromso = SunCalendar(69.65, 18.96, "Europe/Oslo")
    assert dark_seconds(tromso, date(2026, 12, 21)) == 24 * 3600
    assert dark_seconds(tromso, date(2026, 6, 21)) == 0


WINDOWS = night_windows(time(1, 0), time(5, 0), 60, PARIS)


def _leak_totals(*, skip: tuple[float, float] | None = None) -> list[tuple[float, float]]:
    """A running total every 5 min through the night of D: a 12 L/h leak from 01:00 to 04:00, a 300 L/h
    tap on top from 02:10 to 02:20, 40 L/h from 04:00 (early risers)."""
    def flow(t: float) -> float:
        if t < at(D1, 4):
            return 12.0 + (300.0 if at(D1, 2, 10) <= t < at(D1, 2, 20) else 0.0)
        return 40.0
    samples, total, t = [], 500.0, at(D, 23)
    while t <= at(D1, 6):
        if skip is None or not skip[0] <= t <= skip[1]:
            samples.append((t, total))
        total += flow(t) * 300 / 3600
        t += 300
    return samples


def test_rollups_minimum_night_flow_from_totals() -> None:
    figures = night_figures(WINDOWS, D, _leak_totals(), [], 15 * 60.0)
    assert figures is not None
    # Buckets: 01-02 12, 02-03 12 + 300 * 10/60 = 62, 03-04 12, 04-05 40: minimum 12.
    assert figures.min_flow_lph == pytest.approx(12.0)
    assert figures.volume_l == pytest.approx(12 * 3 + 50 + 40)
    assert figures.samples == 4 * 12 + 1  # 01:00 .. 05:00 every 5 min


def test_rollups_minimum_night_flow_from_flow_samples() -> None:
    flows = []
    t = at(D, 23)
    while t <= at(D1, 6):
        flows.append((t, 40.0 if t > at(D1, 4) else 12.0))  # each sample: the flow since the previous one
        t += 300
    figures = night_figures(WINDOWS, D, [], flow_spans(flows, 900.0), 900.0)
    assert figures is not None and figures.min_flow_lph == pytest.approx(12.0)
    assert figures.volume_l == pytest.approx(12 * 3 + 40)


def test_rollups_a_night_with_a_missing_hour_has_no_minimum() -> None:
    figures = night_figures(WINDOWS, D, _leak_totals(skip=(at(D1, 2, 55), at(D1, 4, 5))), [], 900.0)
    assert figures is not None and figures.min_flow_lph is None


def test_rollups_nights_are_named_by_their_evening() -> None:
    assert nights_touching(WINDOWS, D1) == [D]
    late = night_windows(time(22, 0), time(6, 0), 60, PARIS)
    assert nights_touching(late, D1) == [D, D1]


def test_rollups_night_windows_cover_their_days() -> None:
    assert night_days(WINDOWS, D) == [D1]
    assert night_days(night_windows(time(22, 0), time(6, 0), 60, PARIS), D) == [D, D1]


def test_rollups_a_record_marks_the_days_it_can_change() -> None:
    # A reading changes its day, and the neighbour its interval to the next sample may reach (6 h at most).
    assert touched(at(D, 3), "reading", PARIS) == (D, D - timedelta(days=1))
    assert touched(at(D, 12), "reading", PARIS) == (D,)
    assert touched(at(D, 21), "aggregate", PARIS) == (D, D1)
    # A decision: its day, and the next one's state at midnight.
    assert touched(at(D, 12), "event", PARIS) == (D, D1)


def test_rollups_a_box_s_hourly_aggregates_still_give_the_night() -> None:
    # The box thinned its raw flow readings into hourly aggregates (min, mean, max): the means are the flows.
    def aggregate(hh: int, mean: float, *, shift: float = 0.0) -> tuple[str, float, float, str, str]:
        body = json.dumps({"sensor": "water-main", "name": "flow_lph", "from_s": at(D1, hh) - shift,
                           "to_s": at(D1, hh + 1) - shift, "min": 0.0, "mean": mean, "max": 300.0, "count": 60})
        return ("raw", at(D1, hh + 1), at(D1, hh + 1) - shift, "aggregate", body)
    # One aggregate's box clock was 10 min behind (wall_s vs the fleet's ts): its span is moved back in place.
    rows = [aggregate(1, 12.0), aggregate(2, 62.0, shift=600.0), aggregate(3, 12.0), aggregate(4, 40.0)]
    series = decode(rows, [], 900.0)
    figures = night_figures(WINDOWS, D, series.totals_l.get("water-main", []), series.flows["water-main"], 900.0)
    assert figures is not None and figures.min_flow_lph == pytest.approx(12.0)
    assert figures.volume_l == pytest.approx(12 + 62 + 12 + 40)
