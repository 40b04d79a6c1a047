"""`hameau-edge run` on a config with `[simulation] enabled = true`: simulated buses kept in step with real time."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime

from drivers.sim.clock import SimClock
from edge.config.box import BoxConfig
from edge.hardware.assembly import Hardware
from edge.link.runner import run_linked
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
    # Each start is a new boot of the simulated box: its monotonic clock starts again at zero.
    clock = SimClock(epoch=datetime.now(UTC), boot_id=f"sim-{uuid.uuid4()}")
    if config.link is not None:
        return _run_linked(config, clock, stop)
    store = StoreKeeper(config.agent, now=clock.now, monotonic=clock.monotonic)
    with open_simulated_hardware(config, clock) as hardware:
        agent = Agent(config, hardware, store, clock, SimCalendar())
        log.info("agent started for %s on simulated buses", config.device.id)
        agent.start()
        last = time.monotonic()
        try:
            while not stop.wait(config.agent.tick_s):
                now = time.monotonic()
                hardware.parts.advance(now - last)
                last = now
                agent.step()
        finally:
            hardware.parts.advance(time.monotonic() - last)  # the stop comes at its own (real) time
            agent.stop(by=stop_cause(stop))
    return 0


def _run_linked(config: BoxConfig, clock: SimClock, stop: threading.Event) -> int:
    """The simulated box with its link to a real broker: simulated buses kept in step with real time."""
    last = [time.monotonic()]

    def keep_in_step(hardware: Hardware) -> None:
        now = time.monotonic()
        hardware.parts.advance(now - last[0])
        last[0] = now

    return run_linked(config, clock, stop, lambda c: open_simulated_hardware(c, clock),
                      calendar=SimCalendar, before_step=keep_in_step)
