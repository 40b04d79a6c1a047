"""Acknowledging an alarm: by a named user of the fleet; the box's own alarm is acknowledged on the box too."""

from __future__ import annotations

from dataclasses import dataclass

from fleet.alarms.model import BOX_KINDS, OPEN, Alarm, AlarmSettings
from fleet.alarms.table import find_ids, get_alarm
from fleet.commands.queue import enqueue
from fleet.errors import FleetError
from fleet.store.db import Database

#: The command that acknowledges a latched alarm on the box (fleet/protocol.py ACTIONS, edge/link/commands.py).
ACK_ACTION = "ack_alarm"
#: Users who may acknowledge (a viewer only looks).
ACK_ROLES = ("technician", "admin")
MIN_PREFIX = 6


class AlarmError(FleetError):
    """An alarm that cannot be found or acknowledged, or a user who may not."""


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """What an acknowledgement did: the alarm after it, and the command sent to the box (if any)."""

    alarm: Alarm
    command_id: str | None


def resolve(db: Database, text: str) -> str:
    """The id of the alarm `text` names: its id, or a unique prefix of 6 characters or more."""
    wanted = text.strip().lower()
    if len(wanted) < MIN_PREFIX:
        raise AlarmError(f"alarm {text!r}: give its id, or at least {MIN_PREFIX} of its first characters")
    found = find_ids(db, wanted)
    if not found:
        raise AlarmError(f"no alarm {text!r}")
    if len(found) > 1 and wanted not in found:
        raise AlarmError(f"alarm {text!r} is ambiguous ({', '.join(found)}...): give more characters")
    return wanted if wanted in found else found[0]


def _check_user(db: Database, user: str) -> None:
    row = db.one("SELECT role, disabled_at FROM users WHERE name = ?", (user,))
    if row is None:
        raise AlarmError(f"no user {user!r} (add one with hameau-fleet users add)")
    role, disabled_at = row
    if disabled_at is not None:
        raise AlarmError(f"user {user!r} is disabled")
    if role not in ACK_ROLES:
        raise AlarmError(f"user {user!r} is a {role}: only a {' or '.join(ACK_ROLES)} may acknowledge")


def acknowledge(
    db: Database, text: str, user: str, *, note: str | None, now: float, settings: AlarmSettings | None = None
) -> Acknowledged:
    """Record who acknowledged an alarm, when and why, in one transaction; the box's own open alarm gets an
    `ack_alarm` command naming its key. A one-off alarm ends with its acknowledgement."""
    if note is not None and len(note) > 4096:
        raise AlarmError("--note: at most 4096 characters")
    with db.transaction() as tx:
        alarm_id = resolve(tx, text)
        _check_user(tx, user)
        device = tx.scalar("SELECT device FROM alarms WHERE id = ?", (alarm_id,))
        tx.lock(f"device:{device}")  # the ingest's lock: no box record changes the alarm meanwhile
        alarm = get_alarm(tx, alarm_id)
        assert alarm is not None  # found above, and alarms are never deleted
        if alarm.acked_by is not None:
            raise AlarmError(f"alarm {alarm_id} was already acknowledged by {alarm.acked_by}")
        command_id = None
        if alarm.kind in BOX_KINDS and alarm.box_ref and alarm.state == OPEN:
            command_id = enqueue(
                tx, alarm.device, ACK_ACTION, {"key": alarm.box_ref, "by": f"fleet:{user}"},
                created_by=user, now=now, ttl_s=(settings or AlarmSettings()).ack_ttl_s,
            )
        ends = alarm.until_ack and alarm.state == OPEN
        tx.execute(
            "UPDATE alarms SET acked_by = ?, acked_at = ?, ack_note = ?, ack_command = ?"
            + (", state = 'cleared', cleared_at = ?, cleared_by = ?, order_cleared = order_last" if ends else "")
            + " WHERE id = ?",
            (user, now, note, command_id, *((now, f"acknowledged by {user}") if ends else ()), alarm_id),
        )
        after = get_alarm(tx, alarm_id)
    assert after is not None
    return Acknowledged(after, command_id)
