"""`hameau-edge run` with a [link]: the agent and the link to the fleet, and the agent restarted on a new fleet config.

The link runs for the whole process; the agent runs in generations: each one with the config of its time
(the local file with the fleet's last-known-good tables, or a version on trial). A trial that cannot start
is rolled back and the agent starts again on the last-known-good; one that starts becomes the last-known-good.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from importlib.metadata import version

from edge.config.box import BoxConfig
from edge.config.reader import ConfigError
from edge.hardware.assembly import Hardware
from edge.link.remote import Remote, config_event
from edge.link.remote_config import (
    ConfigReport,
    FleetConfigFiles,
    good_version,
    promote,
    roll_back,
    startup,
)
from edge.link.service import Link, default_outbox_factory
from edge.runtime.agent import Agent
from edge.runtime.calendar import Calendar, ScheduleCalendar
from edge.runtime.clock import Clock
from edge.runtime.lock import StopRequest, stop_cause
from edge.storage.keeper import StoreKeeper
from edge.storage.store import Store
from edge.technician.link_status import LinkWatch

log = logging.getLogger("hameau.agent")

OpenHardware = Callable[[BoxConfig], AbstractContextManager[Hardware]]
#: How long a clean stop waits for the fleet to acknowledge what is left in the outbox (systemd allows 30 s).
STOP_FLUSH_S = 5.0
#: Called before each tick with the hardware (simulated buses keep in step with real time through it).
BeforeStep = Callable[[Hardware], None]


class Generation(StopRequest):
    """Ends one generation of the agent: the process's stop, or a restart asked by the fleet (a new config)."""

    def __init__(self, parent: threading.Event) -> None:
        super().__init__()
        self.parent = parent

    def is_set(self) -> bool:
        """Set when the process stops or this generation was asked to end."""
        return self.parent.is_set() or super().is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait a tick on the process's stop (a restart is noticed at the end of the tick)."""
        return self.parent.wait(timeout) or super().is_set()

    def ended_by(self) -> str | None:
        """What ended the generation."""
        return stop_cause(self.parent) if self.parent.is_set() else self.cause


def _record(agent: Agent, reports: list[ConfigReport]) -> None:
    now = agent.clock.now()
    for report in reports:
        agent.store.add_event_now(config_event(report, now))
        log.info("fleet config v%s %s %s", report.version, report.status, "; ".join(report.reasons))


def run_linked(
    config: BoxConfig, clock: Clock, stop: threading.Event, open_hardware: OpenHardware,
    *, calendar: Callable[[], Calendar] | None = None, before_step: BeforeStep | None = None,
) -> int:
    """Run the link and the agent until `stop`, restarting the agent on each new fleet config."""
    assert config.link is not None
    files = FleetConfigFiles(config.agent.db_path.parent)
    link = Link(
        config.link, device=config.device.id, clock=clock, version=version("hameau"),
        outbox_factory=default_outbox_factory(config.link, db_path=config.agent.db_path, device=config.device.id,
                                              clock=clock),
        config_version=lambda: good_version(files),
    )
    watch = LinkWatch(link.stats, broker=config.link.broker_url, now=clock.now)  # what `status` shows of it
    link.start()
    try:
        carried: list[ConfigReport] = []
        while not stop.is_set():
            try:
                current, reports, trial = startup(files, config.path)
            except ConfigError as error:  # the local file changed under the agent: keep the one it started with
                log.error("config: %s", error)
                current, reports, trial = config, [], False
            generation = Generation(stop)
            try:
                _generation(current, config, clock, generation, link, files, open_hardware, carried + reports, trial,
                            calendar or (lambda: ScheduleCalendar(clock)), before_step, watch)
                carried = []
            except Exception as error:
                if not trial:
                    raise
                report = roll_back(files, f"the agent could not start with it: {type(error).__name__}: {error}")
                log.error("fleet config rolled back: %s", error)
                carried = [report] if report is not None else []
    finally:
        # A clean stop leaves the fleet a moment to take what the agent's last commit added to the outbox.
        link.stop(flush_s=STOP_FLUSH_S if stop.is_set() else 0.0)
    return 0


def _generation(
    current: BoxConfig, local: BoxConfig, clock: Clock, generation: Generation, link: Link,
    files: FleetConfigFiles, open_hardware: OpenHardware, reports: list[ConfigReport], trial: bool,
    calendar: Callable[[], Calendar], before_step: BeforeStep | None, watch: LinkWatch,
) -> None:
    assert local.link is not None
    store = StoreKeeper(current.agent, now=clock.now, monotonic=clock.monotonic,
                        outbox_budget_bytes=round(local.link.outbox_budget_mb * 1e6))
    with open_hardware(current) as hardware:
        agent = Agent(current, hardware, store, clock, calendar())
        agent.link_status = watch.snapshot
        remote = Remote(
            link, config=current, config_path=local.path, files=files,
            open_store=lambda: Store(current.agent.db_path, monotonic=clock.monotonic), synced=clock.synced,
            reload=generation.request,
        )
        started = False
        try:
            agent.start()
            started = True
            if trial:
                applied = promote(files)
                reports = reports + ([applied] if applied is not None else [])
            _record(agent, reports)
            agent.remote = remote.tick
            log.info("agent started for %s", current.device.id)
            while not generation.wait(current.agent.tick_s):
                if before_step is not None:
                    before_step(hardware)
                watch.observe()
                agent.step()
        finally:
            if started or agent.bank is not None:
                agent.stop(by=generation.ended_by())

