"""Daily calendar jobs: the simulated calendar, and `schedule` registering them at the box's local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from edge.runtime.calendar import ScheduleCalendar, SimCalendar
from edge.runtime.clock import SystemClock

PARIS = ZoneInfo("Europe/Paris")


def test_sim_calendar_runs_each_job_once_a_day_at_local_time() -> None:
    calendar = SimCalendar()
    ran: list[datetime] = []
    calendar.add_daily("leak.nightly", "05:00", PARIS, ran.append)
    now = datetime(2026, 3, 27, 12, 0, tzinfo=PARIS)
    while now < datetime(2026, 3, 31, 12, 0, tzinfo=PARIS):
        calendar.run_pending(now.astimezone(UTC))
        now += timedelta(minutes=1)
    local_runs = [t.astimezone(PARIS) for t in ran]
    # One run per morning at 05:00 local, across the spring change to summer time (29 March).
    assert [(t.day, t.hour, t.minute) for t in local_runs] == [(28, 5, 0), (29, 5, 0), (30, 5, 0), (31, 5, 0)]


def test_sim_calendar_runs_a_missed_job_once_after_a_gap() -> None:
    calendar = SimCalendar()
    ran: list[datetime] = []
    calendar.add_daily("job", "05:00", PARIS, ran.append)
    calendar.run_pending(datetime(2026, 1, 10, 12, 0, tzinfo=PARIS))
    assert calendar.run_pending(datetime(2026, 1, 14, 12, 0, tzinfo=PARIS)) == ["job"]
    assert len(ran) == 1
    assert calendar.run_pending(datetime(2026, 1, 14, 13, 0, tzinfo=PARIS)) == []


def test_schedule_calendar_registers_jobs_at_the_box_local_time() -> None:
    calendar = ScheduleCalendar(SystemClock())
    ran: list[datetime] = []
    calendar.add_daily("leak.nightly", "05:00", PARIS, ran.append)
    calendar.add_daily("report", "23:30", ZoneInfo("America/Cayenne"), ran.append)
    runs = calendar.next_runs()
    now = datetime.now(UTC)
    nightly = runs["leak.nightly"].astimezone(PARIS)
    assert (nightly.hour, nightly.minute) == (5, 0) and now < runs["leak.nightly"] <= now + timedelta(days=1)
    report = runs["report"].astimezone(ZoneInfo("America/Cayenne"))
    assert (report.hour, report.minute) == (23, 30)
    assert calendar.run_pending(now) == [] and ran == []
