"""The alarms list with evidence and acknowledgement state; acknowledging goes through fleet.alarms.ack."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet.alarms.ack import AlarmError, acknowledge
from fleet.alarms.model import ALARM_COLUMNS, Alarm, AlarmSettings, alarm_from_row
from fleet.store.db import Database
from fleet.tenants.scope import SERVICE, Scope

#: An evidence value longer than this is cut (the whole of it is in the API).
MAX_EVIDENCE_CHARS = 600


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One alarm as the list shows it; `evidence` as (key, text) pairs in key order."""

    id: str
    device: str
    kind: str
    source: str
    severity: str
    state: str
    first_seen: float
    last_seen: float
    cleared_at: float | None
    message: str
    evidence: tuple[tuple[str, str], ...]
    count: int
    acked_by: str | None
    acked_at: float | None
    ack_note: str | None
    #: The command that carries the acknowledgement to the box, if one was sent.
    ack_command: str | None

    @property
    def acked(self) -> bool:
        """Whether someone acknowledged it."""
        return self.acked_by is not None


def _text(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        text = value
    elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        text = "; ".join(", ".join(f"{k} {_text(v)}" for k, v in item.items() if v is not None) for item in value)
    else:
        text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_EVIDENCE_CHARS else text[:MAX_EVIDENCE_CHARS - 1] + "…"


def evidence_items(evidence: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """An alarm's evidence as (key, readable text), keys sorted."""
    if not isinstance(evidence, Mapping):
        return (("evidence", _text(evidence)),)
    return tuple((str(k), _text(v)) for k, v in sorted(evidence.items()))


def alarm_row(alarm: Alarm) -> AlarmRow:
    """The row of one stored alarm."""
    return AlarmRow(
        alarm.id, alarm.device, alarm.kind, alarm.source, alarm.severity, alarm.state, float(alarm.first_seen),
        float(alarm.last_seen), None if alarm.cleared_at is None else float(alarm.cleared_at), alarm.message,
        evidence_items(alarm.evidence), alarm.count, alarm.acked_by,
        None if alarm.acked_at is None else float(alarm.acked_at), alarm.ack_note, alarm.ack_command,
    )


def alarm_rows(
    db: Database, *, open_only: bool = False, device: str | None = None, kind: str | None = None, limit: int = 500,
    scope: Scope = SERVICE,
) -> tuple[AlarmRow, ...]:
    """Alarms of boxes in `scope`, open ones first, critical first, then the latest first (at most `limit`; the
    order of fleet.alarms.table.list_alarms, with the limit in the query)."""
    where, params = [], []
    if not scope.service:
        condition, values = scope.device_sql("device")
        where.append(condition)
        params.extend(values)
    for clause, value, wanted in (("state = 'open'", None, open_only), ("device = ?", device, device is not None),
                                  ("kind = ?", kind, kind is not None)):
        if wanted:
            where.append(clause)
            if value is not None:
                params.append(value)
    rows = db.query(
        f"SELECT {ALARM_COLUMNS} FROM alarms{' WHERE ' + ' AND '.join(where) if where else ''}"
        " ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END,"
        " CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, last_seen DESC, id"
        f" LIMIT {int(limit)}",
        params,
    )
    return tuple(alarm_row(alarm_from_row(r)) for r in rows)


@dataclass(frozen=True, slots=True)
class AckOutcome:
    """What an acknowledgement from the dashboard did: the alarm after it, or why it was refused."""

    alarm: AlarmRow | None
    command_id: str | None
    error: str | None


def ack_alarm(
    db: Database, alarm_id: str, user: str, *, note: str | None, now: float, settings: AlarmSettings | None = None,
    scope: Scope = SERVICE,
) -> AckOutcome:
    """Acknowledge an alarm as `user` (fleet.alarms.ack.acknowledge: the box's own alarm gets an ack_alarm
    command); a refusal (unknown alarm or one outside `scope`, already acknowledged, a viewer) is returned."""
    if not scope.service and not scope.sees_alarm(db, alarm_id):
        return AckOutcome(None, None, f"no alarm {alarm_id!r}")
    try:
        done = acknowledge(db, alarm_id, user, note=note or None, now=now, settings=settings)
    except AlarmError as error:
        return AckOutcome(None, None, str(error))
    return AckOutcome(alarm_row(done.alarm), done.command_id, None)
