"""`hameau-edge run` on a config with `[simulation] enabled = true`: simulated buses kept in step with real time."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from drivers.sim.clock import SimClock
from edge.config.box import BoxConfig
from edge.runtime.agent import Agent
from edge.runtime.calendar import SimCalendar
from edge.runtime.live import stop_on_signals
from edge.runtime.lock import stop_cause
from edge.simulation.hardware import open_simulated_hardware
from edge.storage.keeper import StoreKeeper

log = logging.getLogger("hameau.agent")


def run_simulated_agent(config: BoxConfig, stop: threading.Event | None = None) -> int:
    """Run the agent on simulated buses until SIGTERM/SIGINT (or `stop`), then stop cleanly."""
    stop = stop or stop_on_signals()
    clock = SimClock(epoch=datetime.now(UTC))
    store = StoreKeeper(config.agent, now=clock.now, monotonic=clock.monotonic)
    with open_simulated_hardware(config, clock) as hardware:
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
            agent.stop(by=stop_cause(stop))
    return 0
