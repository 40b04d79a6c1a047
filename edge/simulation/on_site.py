"""A world's technician actions, done at their times through the `hameau-edge` commands' own code.

Each action opens the agent's real database as the command does (a second connection), calls the same
function the command calls (ack_alarm, set_relay, set_hydrant, confirm_closure), and closes it; the agent
sees the order at its next tick, as it would on the box.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from drivers.sim.action_spec import ActionSpec
from edge.config.box import BoxConfig
from edge.storage.schema import NewerSchemaError
from edge.storage.store import Store
from edge.technician.reports import ack_alarm, set_relay
from edge.technician.valve import confirm_closure, set_hydrant

#: Who the world's technician is, in events.
TECHNICIAN = "technician:world"


@dataclass(frozen=True, slots=True)
class ActionDone:
    """What an action did: when, whether the command accepted it, and what it told the technician."""

    action: ActionSpec
    at: datetime
    accepted: bool
    message: str


class OnSiteActions:
    """The world's technician actions, in time order, each done once when its time has come."""

    def __init__(self, actions: tuple[ActionSpec, ...] = (), config: BoxConfig | None = None,
                 db_path: Path | None = None, monotonic: Callable[[], float] = lambda: 0.0) -> None:
        self.actions = tuple(sorted(actions, key=lambda a: a.at))
        self.config = config
        self.db_path = db_path
        self._monotonic = monotonic
        self._next = 0
        self.done: list[ActionDone] = []

    def update(self, now: datetime) -> None:
        """Do the actions due by `now`."""
        while self._next < len(self.actions) and self.actions[self._next].at <= now:
            action = self.actions[self._next]
            self._next += 1
            self.done.append(self._do(action, now))

    def _do(self, action: ActionSpec, now: datetime) -> ActionDone:
        assert self.config is not None and self.db_path is not None
        try:
            with Store(self.db_path, monotonic=self._monotonic) as store:
                accepted, message = self._command(store, action, now)
        except (sqlite3.Error, OSError, NewerSchemaError) as exc:
            accepted, message = False, f"cannot use the database {self.db_path}: {exc}"
        return ActionDone(action, now, accepted, message)

    def _command(self, store: Store, a: ActionSpec, now: datetime) -> tuple[bool, str]:
        config = self.config
        assert config is not None
        if a.kind == "override":
            relay = set_relay(store, config, a.target, a.state, now, by=TECHNICIAN, reason=a.reason,
                              **({"duration": a.duration} if a.duration is not None else {}))
            return relay.accepted, relay.message
        if a.kind == "hydrant":
            hydrant = set_hydrant(store, config, a.target, a.state, now, by=TECHNICIAN, reason=a.reason,
                                  **({"duration": a.duration} if a.duration is not None else {}))
            return hydrant.accepted, hydrant.message
        if a.kind == "confirm":
            confirmed = confirm_closure(store, config, a.target, now, by=TECHNICIAN, reason=a.reason)
            return confirmed.accepted, confirmed.message
        watch = next(w.id for w in config.leak if a.target in (w.id, w.valve_relay))
        latched = [x for x in store.latched_alarms() if x.source == watch and a.alarm in (None, x.kind)]
        for alarm in latched:
            ack_alarm(store, alarm.id, TECHNICIAN, now)
        if not latched:
            return False, f"no latched alarm of {watch} to acknowledge"
        return True, f"acknowledged {', '.join(f'#{x.id} ({x.kind})' for x in latched)} of {watch}"
