"""`hameau-edge run`: the agent live, on the box's buses (or on simulated ones kept in step with real time)."""

from __future__ import annotations

import logging
import signal
import threading
import time
from datetime import UTC, datetime
from types import FrameType

from drivers.sim.clock import SimClock
from edge.agent import Agent
from edge.calendar import ScheduleCalendar, SimCalendar
from edge.clock import SystemClock
from edge.config_model import BoxConfig
from edge.hardware import open_hardware
from edge.sim_hardware import open_simulated_hardware
from edge.store import Store

log = logging.getLogger("hameau.agent")


def run_agent(config: BoxConfig, stop: threading.Event | None = None) -> int:
    """Run until SIGTERM/SIGINT (or `stop`), then stop cleanly: relays to their safe states."""
    stop = stop or _stop_on_signals()
    if config.simulation.enabled:
        return _run_simulated(config, stop)
    clock = SystemClock()
    store = Store(config.agent.db_path, commit_interval_s=config.agent.commit_interval_s, monotonic=clock.monotonic)
    with open_hardware(config) as hardware:
        agent = Agent(config, hardware, store, clock, ScheduleCalendar(clock))
        log.info("agent started for %s", config.device.id)
        agent.run(stop)
    return 0


def _run_simulated(config: BoxConfig, stop: threading.Event) -> int:
    clock = SimClock(epoch=datetime.now(UTC))
    store = Store(config.agent.db_path, commit_interval_s=config.agent.commit_interval_s, monotonic=clock.monotonic)
    with open_simulated_hardware(config, clock) as hardware:
        assert hardware.parts is not None
        agent = Agent(config, hardware, store, clock, SimCalendar())
        log.info("agent started for %s on simulated buses", config.device.id)
        agent.start()
        try:
            last = time.monotonic()
            while not stop.wait(config.agent.tick_s):
                now = time.monotonic()
                hardware.parts.advance(now - last)
                last = now
                agent.step()
        finally:
            agent.stop()
    return 0


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
