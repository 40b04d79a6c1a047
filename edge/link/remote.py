"""What the fleet asks of the box, taken from the link's inbox at each tick of the agent: commands and configs.

Commands are carried out on a store connection of their own, the way a technician's are (edge/link/commands.py);
a config is checked in full and staged for a try, then the runner restarts the agent on it
(edge/link/remote_config.py). What the link itself has to say (loop restarts, rejected messages) becomes
events too. Nothing here can stop the agent's loop: a failure is an event, and the next tick goes on.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from edge.config.box import BoxConfig
from edge.controllers.events import Event
from edge.link.commands import REFUSED, CommandResult, carry_out
from edge.link.remote_config import ConfigReport, FleetConfigFiles, offer, wanted
from edge.link.service import RefusedCommand
from edge.storage.store import Store
from fleet.protocol import Command, Config

log = logging.getLogger("hameau.link")

#: The kind of the events that keep each config report (sent to the fleet as config_report records).
CONFIG_EVENT = "config"
#: The kind of the events that say what happened to the link.
LINK_EVENT = "link"
#: Items taken from the inbox per tick at most (the rest wait for the next one).
PER_TICK = 100


class LinkLike(Protocol):
    """What the remote needs of the link service (edge/link/service.py Link)."""

    inbox: queue.Queue[Any]
    events: queue.Queue[Any]


def config_event(report: ConfigReport, at: datetime) -> Event:
    """A config report as the event the store keeps."""
    reasons = "; ".join(report.reasons)
    text = f"fleet config v{report.version} {report.status.replace('_', ' ')}" + (f": {reasons}" if reasons else "")
    return Event(CONFIG_EVENT, "fleet", text, at, report.data())


def _drain(source: queue.Queue[Any], limit: int) -> list[Any]:
    items = []
    for _ in range(limit):
        try:
            items.append(source.get_nowait())
        except queue.Empty:
            break
    return items


class Remote:
    """Carries out the fleet's commands and offers its configs, at each tick, on the agent's thread."""

    def __init__(
        self,
        link: LinkLike,
        *,
        config: BoxConfig,
        config_path: Path,
        files: FleetConfigFiles,
        open_store: Callable[[], Store],
        synced: Callable[[], bool],
        reload: Callable[[str], None],
    ) -> None:
        self.link = link
        self.config = config
        self.config_path = config_path
        self.files = files
        self._open_store = open_store
        self._synced = synced
        self._reload = reload

    def tick(self, now: datetime) -> list[Event]:
        """Take what waits in the inbox; return the events the agent records (link news, config reports)."""
        events: list[Event] = []
        for item in _drain(self.link.events, PER_TICK):
            events.append(Event(LINK_EVENT, "link", item.reason, now, {"what": item.kind, **dict(item.data)}))
        items = _drain(self.link.inbox, PER_TICK)
        if not items:
            return events
        with self._open_store() as store:
            for item in items:
                try:
                    events += self._one(item, store, now)
                except Exception as error:  # contained: one bad command never stops the next ones or the loop
                    log.exception("link: could not carry out %r", item)
                    events.append(Event(LINK_EVENT, "link", f"{type(error).__name__}: {error}", now, {"what": "link_fault"}))
        return events

    def _one(self, item: Any, store: Store, now: datetime) -> list[Event]:
        if isinstance(item, Command):
            carry_out(item, store, self.config, now, clock_synced=self._synced(),
                      reload_config=lambda: self._reload("reload_config command"))
            return []
        if isinstance(item, Config):
            if not wanted(self.files, item):
                return []
            report = offer(self.files, self.config_path, item)
            if report is not None:
                return [config_event(report, now)]
            self._reload(f"fleet config v{item.version}")
            return []
        if isinstance(item, RefusedCommand):  # a command whose id parsed, refused by the protocol checks
            result = CommandResult(str(item.id), "unknown", REFUSED, str(item.reason))
            store.add_event_now(result.event(now))
        return []
