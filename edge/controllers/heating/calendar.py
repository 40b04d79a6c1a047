"""A heating zone's weekly schedule at the box: the period holding now and the next one, per local day.

Each local date's comfort periods are worked out once (their start times in epoch seconds and the
words naming them), so a call costs a few comparisons. Periods follow the wall clock: on a
clock-change day the period holding now is found from the converted local time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.fields import WEEKDAY_NAMES
from edge.controllers.heating.config import ComfortPeriod, WeeklySchedule
from edge.controllers.timing import DayCache, LocalDay


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One local date's comfort periods, with their start times and the words that name them."""

    periods: tuple[ComfortPeriod, ...]
    starts_s: tuple[float, ...]
    #: "Monday 08:00-12:00" for each period.
    names: tuple[str, ...]
    #: "comfort (Monday 08:00-12:00)" for each period.
    labels: tuple[str, ...]
    #: "eco (Monday outside comfort periods)".
    eco_label: str


@dataclass(frozen=True, slots=True)
class Moment:
    """Where `now` falls in the schedule: its local day, that day's plan, and the period holding (index)."""

    day: LocalDay
    plan: DayPlan
    index: int | None


class HeatingCalendar:
    """The weekly schedule of one zone, evaluated per local day at the box."""

    def __init__(self, schedule: WeeklySchedule, zone: ZoneInfo) -> None:
        self.schedule = schedule
        self.zone = zone
        self._days: DayCache[DayPlan] = DayCache(zone, self._plan)
        self._upcoming: tuple[float, float, str] | None = None
        self._held: tuple[float, float, Moment] | None = None

    def _plan(self, day: LocalDay) -> DayPlan:
        weekday = WEEKDAY_NAMES[day.date.weekday()]
        periods = self.schedule.days[day.date.weekday()]
        names = tuple(f"{weekday} {period}" for period in periods)
        return DayPlan(
            periods,
            tuple(day.at_s(period.start_min, self.zone) for period in periods),
            names,
            tuple(f"comfort ({name})" for name in names),
            f"eco ({weekday} outside comfort periods)",
        )

    def at(self, now: datetime, now_s: float) -> Moment:
        """The day, plan and comfort period (by wall-clock minute, like WeeklySchedule.period_at) at `now`."""
        held = self._held
        if held is not None and held[0] <= now_s < held[1]:
            return held[2]
        day, plan = self._days.at(now, now_s)
        if day.uniform:
            minute = int((now_s - day.start_s) // 60)
        else:
            local = now.astimezone(self.zone)
            minute = local.hour * 60 + local.minute
        index = None
        # On a 24-hour day the answer holds until the next period boundary (or midnight).
        until_min = 1440
        for number, period in enumerate(plan.periods):
            if period.start_min <= minute < period.end_min:
                index, until_min = number, period.end_min
                break
            if minute < period.start_min:
                until_min = period.start_min
                break
        moment = Moment(day, plan, index)
        self._held = (now_s, day.start_s + until_min * 60, moment) if day.uniform else None
        return moment

    def next_start(self, moment: Moment, now_s: float) -> tuple[float, str] | None:
        """The next comfort period to start after `now_s` (within a day): its start and its name."""
        upcoming = self._upcoming
        if upcoming is None or not upcoming[0] <= now_s < upcoming[1]:
            _, tomorrow = self._days.on(moment.day.date + timedelta(days=1))
            starts = [
                (start_s, name)
                for plan in (moment.plan, tomorrow)
                for start_s, name in zip(plan.starts_s, plan.names, strict=True)
                if start_s > now_s
            ]
            # Until the first of them starts, it stays the next one (none today or tomorrow: look again tomorrow).
            upcoming = (now_s, *min(starts)) if starts else (now_s, moment.day.end_s, "")
            self._upcoming = upcoming
        _, start_s, name = upcoming
        return (start_s, name) if name else None
