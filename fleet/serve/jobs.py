"""Periodic fleet work beside the ingest (alarms on silence, roll-ups, retention, notifications, publishing
desired configs and commands): one thread, its own store connection, each job on its own interval."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from fleet.errors import FleetError
from fleet.store.db import Database

LOG = logging.getLogger("hameau.fleet.jobs")

#: publish(topic, payload, qos, retain): queue a message on the serve process's MQTT connection.
Publish = Callable[[str, bytes, int, bool], None]


@dataclass(frozen=True, slots=True)
class JobContext:
    """What a job is given: the database (its own connection), the time, and a way to publish."""

    db: Database
    now: float
    publish: Publish


@dataclass(frozen=True, slots=True)
class Job:
    """A named piece of periodic work; it must be safe when several serve processes run it at once."""

    name: str
    interval_s: float
    run: Callable[[JobContext], None]


class JobRunner:
    """Runs due jobs in turn on one thread until stopped; a failing job is logged and tried at its next turn."""

    def __init__(
        self,
        jobs: Sequence[Job],
        db: Database,
        publish: Publish,
        *,
        now: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jobs = tuple(jobs)
        self.db = db
        self.publish = publish
        self._now = now
        self._monotonic = monotonic
        self._due = {job.name: 0.0 for job in self.jobs}
        self.failures: dict[str, int] = {job.name: 0 for job in self.jobs}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="fleet-jobs", daemon=True)

    def run_due(self) -> int:
        """Run every job whose time has come; the number run."""
        ran = 0
        for job in self.jobs:
            if self._stop.is_set():
                break
            if self._monotonic() < self._due[job.name]:
                continue
            self._due[job.name] = self._monotonic() + job.interval_s
            ran += 1
            try:
                job.run(JobContext(db=self.db, now=self._now(), publish=self.publish))
            except FleetError as error:
                self.failures[job.name] += 1
                LOG.error("job %s failed (retried in %.0f s): %s", job.name, job.interval_s, error)
            except Exception:
                self.failures[job.name] += 1
                LOG.exception("job %s failed (retried in %.0f s)", job.name, job.interval_s)
        return ran

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            waits = [due - self._monotonic() for due in self._due.values()]
            self._stop.wait(min([1.0, *waits]) if waits else 1.0)

    def start(self) -> None:
        """Start the thread (nothing to do without jobs)."""
        if self.jobs:
            self._thread.start()

    def stop(self) -> None:
        """Stop after the current job."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30.0)
