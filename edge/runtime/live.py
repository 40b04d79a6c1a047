"""`hameau-edge run` on a box's real buses: the live composition root, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from edge.config.box import BoxConfig
from edge.hardware.buses import open_hardware
from edge.link.runner import run_linked
from edge.runtime.agent import Agent
from edge.runtime.calendar import ScheduleCalendar
from edge.runtime.clock import SystemClock
from edge.runtime.lock import StopRequest, signal_cause
from edge.storage.keeper import StoreKeeper

log = logging.getLogger("hameau.agent")


def run_agent(config: BoxConfig, stop: threading.Event | None = None) -> int:
    """Run on the real buses until SIGTERM/SIGINT (or `stop`), then stop cleanly: relays to their safe states."""
    stop = stop or stop_on_signals()
    clock = SystemClock()
    if config.link is not None:
        return run_linked(config, clock, stop, open_hardware)
    # The keeper opens the database at start (moving a broken one aside) and never fails the loop.
    store = StoreKeeper(config.agent, now=clock.now, monotonic=clock.monotonic)
    with open_hardware(config) as hardware:
        agent = Agent(config, hardware, store, clock, ScheduleCalendar(clock))
        log.info("agent started for %s", config.device.id)
        agent.run(stop)
    return 0


def stop_on_signals() -> StopRequest:
    """An event set by SIGTERM or SIGINT (a clean stop), remembering which."""
    stop = StopRequest()

    def handle(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        stop.request(signal_cause(signum))

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop
