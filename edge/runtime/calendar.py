"""Daily calendar jobs at a local time: the `schedule` package live, a simulated calendar in simulated time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import schedule

from edge.runtime.clock import Clock

JobCallback = Callable[[datetime], None]


class Calendar(Protocol):
    """Runs registered jobs once a day at a local time."""

    def add_daily(self, name: str, at_local: str, tz: ZoneInfo, job: JobCallback) -> None:
        """Run `job(now)` every day at `at_local` ("HH:MM") in time zone `tz`."""
        ...

    def run_pending(self, now: datetime) -> list[str]:
        """Run the jobs that are due; return their names."""
        ...


class ScheduleCalendar:
    """The box's calendar, on the `schedule` package and the system clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        #: The `schedule` scheduler holding the jobs (its jobs' next_run say when each runs next).
        self.scheduler = schedule.Scheduler()
        self._ran: list[str] = []

    def add_daily(self, name: str, at_local: str, tz: ZoneInfo, job: JobCallback) -> None:
        """Register a daily job with `schedule`, in the box's time zone."""

        def run() -> None:
            self._ran.append(name)
            job(self._clock.now())

        self.scheduler.every().day.at(at_local, tz.key).do(run).tag(name)

    def next_runs(self) -> dict[str, datetime]:
        """When each job runs next (schedule keeps naive system-local times; these are aware)."""
        return {
            next(iter(job.tags)): job.next_run.astimezone(UTC)
            for job in self.scheduler.jobs
            if job.next_run is not None
        }

    def run_pending(self, now: datetime) -> list[str]:
        """Let `schedule` run what is due by the system clock."""
        self._ran = []
        self.scheduler.run_pending()
        return self._ran


@dataclass
class _SimJob:
    name: str
    at: time
    tz: ZoneInfo
    job: JobCallback
    next_run: datetime | None = None

    def first_after(self, now: datetime) -> datetime:
        local_day = now.astimezone(self.tz).date()
        candidate = _at(local_day, self.at, self.tz)
        return candidate if candidate > now else _at(local_day + timedelta(days=1), self.at, self.tz)


def _at(day: date, at: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


class SimCalendar:
    """The same daily jobs in simulated time: each runs at most once per day, when `now` passes it."""

    def __init__(self) -> None:
        self._jobs: list[_SimJob] = []

    def add_daily(self, name: str, at_local: str, tz: ZoneInfo, job: JobCallback) -> None:
        """Register a daily job."""
        self._jobs.append(_SimJob(name, time.fromisoformat(at_local), tz, job))

    def run_pending(self, now: datetime) -> list[str]:
        """Run each job whose time has come since the last call (once, even after a long gap)."""
        ran = []
        for job in self._jobs:
            if job.next_run is None:
                job.next_run = job.first_after(now)
                continue
            if now >= job.next_run:
                job.job(now)
                ran.append(job.name)
                job.next_run = job.first_after(now)
        return ran
