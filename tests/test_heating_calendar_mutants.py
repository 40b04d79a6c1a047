"""A heating zone's weekly schedule at the box: survivors of a mutation run (bench/mutation.py).

Oracles written out here: the schedule in the test (Monday 08:00-12:00 and 13:30-18:00, Tuesday
07:00-09:00, Sunday 08:00-24:00), periods holding from their start up to but not including their
end, local time in Paris (2026 clock changes: 29 March, a 23-hour day, and 25 October, 25 hours),
and the README's heating rules (preheat only when colder than the target, nothing learned yet:
the first measured rate).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from edge.controllers.heating.calendar import HeatingCalendar
from edge.controllers.heating.config import ComfortPeriod, WeeklySchedule
from edge.controllers.heating.preheat import preheat_lead_s, smooth_rate
from edge.controllers.timing import local_day

PARIS = ZoneInfo("Europe/Paris")
MONDAY = (ComfortPeriod(8 * 60, 12 * 60), ComfortPeriod(13 * 60 + 30, 18 * 60))
TUESDAY = (ComfortPeriod(7 * 60, 9 * 60),)
SUNDAY = (ComfortPeriod(8 * 60, 24 * 60),)
SCHEDULE = WeeklySchedule((MONDAY, TUESDAY, (), (), (), (), SUNDAY))


def _at(year: int, month: int, day: int, hour: int, minute: int = 0) -> tuple[datetime, float]:
    now = datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)
    return now, now.timestamp()


def _index(calendar: HeatingCalendar, *when: int) -> int | None:
    now, now_s = _at(*when)
    return calendar.at(now, now_s).index


def test_heating_calendar_periods_hold_from_start_to_just_before_end() -> None:
    calendar = HeatingCalendar(SCHEDULE, PARIS)
    # 2 March 2026 is a Monday; calls go forward in time, as the agent makes them.
    assert _index(calendar, 2026, 3, 2, 7, 59) is None
    assert _index(calendar, 2026, 3, 2, 8, 0) == 0
    assert _index(calendar, 2026, 3, 2, 11, 59) == 0
    assert _index(calendar, 2026, 3, 2, 12, 0) is None
    assert _index(calendar, 2026, 3, 2, 13, 30) == 1
    assert _index(calendar, 2026, 3, 2, 18, 0) is None


def test_heating_calendar_a_new_day_is_a_new_plan() -> None:
    calendar = HeatingCalendar(SCHEDULE, PARIS)
    evening, evening_s = _at(2026, 3, 2, 23, 0)
    assert calendar.at(evening, evening_s).day.date == date(2026, 3, 2)
    after_midnight, after_s = _at(2026, 3, 3, 0, 0)
    moment = calendar.at(after_midnight, after_s + 30)
    assert (moment.day.date, moment.index) == (date(2026, 3, 3), None)
    assert moment.plan.periods == TUESDAY


@pytest.mark.parametrize("day", [29, 25])
def test_heating_calendar_clock_change_days_follow_the_wall_clock(day: int) -> None:
    month = 3 if day == 29 else 10  # both Sundays in 2026
    calendar = HeatingCalendar(SCHEDULE, PARIS)
    assert _index(calendar, 2026, month, day, 7, 30) is None
    assert _index(calendar, 2026, month, day, 8, 30) == 0
    assert _index(calendar, 2026, month, day, 23, 59) == 0


def test_heating_calendar_next_start_moves_on_at_each_start() -> None:
    calendar = HeatingCalendar(SCHEDULE, PARIS)

    def next_start(*when: int) -> tuple[float, str] | None:
        now, now_s = _at(*when)
        return calendar.next_start(calendar.at(now, now_s), now_s)

    assert next_start(2026, 3, 2, 7, 0) == (_at(2026, 3, 2, 8, 0)[1], "Monday 08:00-12:00")
    assert next_start(2026, 3, 2, 8, 0) == (_at(2026, 3, 2, 13, 30)[1], "Monday 13:30-18:00")
    assert next_start(2026, 3, 2, 19, 0) == (_at(2026, 3, 3, 7, 0)[1], "Tuesday 07:00-09:00")


def test_heating_calendar_no_period_today_or_tomorrow_means_no_next_start() -> None:
    calendar = HeatingCalendar(SCHEDULE, PARIS)
    now, now_s = _at(2026, 3, 4, 12, 0)  # Wednesday; Thursday is empty too
    assert calendar.next_start(calendar.at(now, now_s), now_s) is None


def test_heating_calendar_local_minutes_on_clock_change_days() -> None:
    spring = local_day(date(2026, 3, 29), PARIS)
    assert spring.end_s - spring.start_s == 23 * 3600
    assert spring.at_s(8 * 60 + 30, PARIS) == _at(2026, 3, 29, 8, 30)[1]
    assert spring.at_s(1440, PARIS) == spring.end_s == _at(2026, 3, 30, 0, 0)[1]
    autumn = local_day(date(2026, 10, 25), PARIS)
    assert autumn.at_s(1440, PARIS) == autumn.end_s


def test_heating_calendar_preheat_and_learning_edges() -> None:
    assert preheat_lead_s(20.0, 19.0, 2.0, 3600.0) == 0.0  # already warmer than the target
    assert preheat_lead_s(18.0, 19.0, 2.0, 3600.0) == 1800.0
    assert smooth_rate(None, 3, 2.5) == 2.5  # a rate lost but samples counted: start again from this one
