"""Commands from the fleet, carried out on the box's store the way a technician's are, and their audit trail.

An override or an acknowledgement goes through the same functions as `hameau-edge relay` and `alarms ack`:
it lands in the store and the agent takes it at its next tick, with every interlock of its controllers
still holding. A command is carried out at most once (its id is remembered) and never once expired; a box
whose clock is not synchronised cannot tell, so it refuses. Every result becomes a "command" event: kept
in the local audit trail, and sent to the fleet as a command_result record.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from edge.config.box import BoxConfig
from edge.controllers.events import Event
from edge.storage.schema import to_epoch, to_json
from edge.storage.store import Store
from edge.technician.reports import (
    UnknownRelayError,
    ack_alarm,
    set_relay,
    status_report,
)
from fleet.protocol import Command

#: The kind of the events that keep each command's result.
COMMAND_EVENT = "command"
#: Who the store's override and acknowledgement rows say acted.
FLEET = "fleet"
#: How long a command's id is remembered (commands expire long before).
SEEN_KEEP_S = 30 * 86400.0

DONE, REFUSED, FAILED = "done", "refused", "failed"


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What became of one command."""

    id: str
    action: str
    status: str
    detail: str

    def event(self, at: datetime) -> Event:
        """The audit trail's event (sent to the fleet as a command_result record)."""
        data = {"id": self.id, "action": self.action, "status": self.status, "detail": self.detail}
        return Event(COMMAND_EVENT, FLEET, f"command {self.id} ({self.action}) {self.status}: {self.detail}", at, data)


def _seen(conn: sqlite3.Connection, command_id: str) -> str | None:
    row = conn.execute("SELECT status FROM commands_seen WHERE id = ?", (command_id,)).fetchone()
    return None if row is None else str(row[0])


def _remember(store: Store, result: CommandResult, now: datetime) -> None:
    now_s = to_epoch(now)
    with store.transaction(with_pending=False) as conn:
        conn.execute(
            "INSERT OR IGNORE INTO commands_seen (id, at_s, status) VALUES (?, ?, ?)", (result.id, now_s, result.status)
        )
        conn.execute("DELETE FROM commands_seen WHERE at_s < ?", (now_s - SEEN_KEEP_S,))


def _override(command: Command, store: Store, config: BoxConfig, now: datetime) -> tuple[str, str]:
    args = command.args
    action = args["state"] if command.action == "override" else "auto"
    duration = timedelta(seconds=float(args.get("duration_s", 3600.0)))
    try:
        outcome = set_relay(
            store, config, str(args["relay"]), action, now,
            duration=duration, by=f"{FLEET}:{command.id}", reason=str(args.get("reason", "")),
        )
    except UnknownRelayError as error:
        return REFUSED, str(error)
    return (DONE if outcome.accepted else REFUSED), outcome.message


def _ack(command: Command, store: Store, now: datetime) -> tuple[str, str]:
    by = str(command.args["by"])
    if "key" in command.args:  # the fleet names the latched alarm by its key (its number is the box's own)
        key = str(command.args["key"])
        latched = next((a for a in store.latched_alarms() if a.key == key), None)
        if latched is None:
            return REFUSED, f"no latched alarm {key} on this box (acknowledged already?)"
        alarm_id = latched.id
    else:
        alarm_id = int(command.args["alarm_id"])
    alarm, was_latched = ack_alarm(store, alarm_id, by, now)
    if alarm is None:
        return REFUSED, f"no alarm #{alarm_id} on this box"
    if not was_latched:
        return DONE, f"alarm #{alarm_id} ({alarm.kind}) was already acknowledged by {alarm.acked_by}"
    return DONE, f"alarm #{alarm_id} ({alarm.kind} from {alarm.source}) acknowledged by {by}"


def _status(store: Store, config: BoxConfig, now: datetime) -> tuple[str, str]:
    report: dict[str, Any] = status_report(store, config, now)
    return DONE, to_json(report)


def carry_out(
    command: Command,
    store: Store,
    config: BoxConfig,
    now: datetime,
    *,
    clock_synced: bool,
    reload_config: Callable[[], None],
) -> CommandResult:
    """Carry out one checked command (at most once, never expired), record its result, and return it."""

    def result(status: str, detail: str) -> CommandResult:
        return CommandResult(command.id, command.action, status, detail)

    previous = _seen(store.conn, command.id)
    if previous is not None:
        # The first result stands; the repeat is refused and kept in the audit trail too.
        outcome = result(REFUSED, f"command {command.id} was already received (it was {previous})")
        store.add_event_now(outcome.event(now))
        return outcome
    if not clock_synced:
        outcome = result(REFUSED, "the box's clock is not synchronised: it cannot tell whether the command expired")
    elif command.expired(to_epoch(now)):
        expired_at = datetime.fromtimestamp(command.expires_at, now.tzinfo).isoformat()
        outcome = result(REFUSED, f"expired at {expired_at}")
    elif command.action in ("override", "clear_override"):
        outcome = result(*_override(command, store, config, now))
    elif command.action == "ack_alarm":
        outcome = result(*_ack(command, store, now))
    elif command.action == "status":
        outcome = result(*_status(store, config, now))
    elif command.action == "reload_config":
        reload_config()
        outcome = result(DONE, "the agent re-reads its configuration")
    else:
        outcome = result(REFUSED, f"unknown action {command.action!r}")
    _remember(store, outcome, now)
    store.add_event_now(outcome.event(now))
    return outcome
