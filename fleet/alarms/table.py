"""The alarms table: open, count, clear and read alarms, in the caller's transaction (SQL for both engines).

Each (device, kind, source) is a stream of episodes. A raise opens the stream's alarm or counts one more
occurrence of the open one; a clear ends the open alarm if it began before the clearing record. Records may
come late or out of order (a box flushing after an outage, several ingest workers), so every raise and clear
carries its order in the stream (the event-lane seq, or a status's time) and the stream's latest clear is
kept: a raise older than it opens nothing new (it is counted in the episode it belonged to, or kept as
history already cleared).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from fleet.alarms.model import (
    ALARM_COLUMNS,
    CLEARED,
    OPEN,
    Alarm,
    Clear,
    Raise,
    alarm_from_row,
)
from fleet.store.db import Database

_STREAM = "device = ? AND kind = ? AND source = ?"


def new_alarm_id() -> str:
    """A fresh alarm id (uuid4 hex; any unique prefix of 6+ characters names it on the command line)."""
    return uuid.uuid4().hex


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def apply_raise(db: Database, device: str, r: Raise) -> str:
    """Open the stream's alarm or count this occurrence in the episode it belongs to; the alarm's id."""
    stream = (device, r.kind, r.source)
    row = db.one(f"SELECT id, order_first, order_last FROM alarms WHERE {_STREAM} AND state = 'open'", stream)
    if row is None:
        row = db.one(
            f"SELECT id, order_first, order_last FROM alarms WHERE {_STREAM} AND state = 'cleared'"
            " AND order_first <= ? AND order_cleared >= ? ORDER BY order_first DESC",
            (*stream, r.order, r.order),
        )
    if row is not None:
        alarm_id, first, last = row
        if r.order not in (first, last):  # else the same status (or record) again
            _count(db, alarm_id, r, float(first), float(last))
        return str(alarm_id)
    same = db.scalar(f"SELECT id FROM alarms WHERE {_STREAM} AND order_first = ?", (*stream, r.order))
    if same is not None:
        return str(same)
    ended = db.one(f"SELECT order_cleared, cleared_at, cleared_by FROM alarm_clears WHERE {_STREAM}", stream)
    late = ended is not None and float(ended[0]) > r.order
    alarm_id = new_alarm_id()
    db.execute(
        "INSERT INTO alarms (id, device, kind, source, severity, state, first_seen, last_seen, cleared_at,"
        " cleared_by, message, evidence, count, until_ack, box_ref, order_first, order_last, order_cleared)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
        (
            alarm_id, device, r.kind, r.source, r.severity, CLEARED if late else OPEN, r.at, r.at,
            ended[1] if late else None, ended[2] if late else None, r.message, _json(r.evidence),
            int(r.once), r.box_ref, r.order, r.order, ended[0] if late else None,
        ),
    )
    return alarm_id


def _count(db: Database, alarm_id: str, r: Raise, first: float, last: float) -> None:
    """One more occurrence: times widened, the latest occurrence's words and evidence kept."""
    sets = ["count = alarms.count + 1"]
    params: list[Any] = []
    if r.order > last:
        sets += ["order_last = ?", "message = ?", "evidence = ?", "severity = ?"]
        params += [r.order, r.message, _json(r.evidence), r.severity]
    if r.order < first:
        sets.append("order_first = ?")
        params.append(r.order)
    sets += ["last_seen = CASE WHEN alarms.last_seen < ? THEN ? ELSE alarms.last_seen END",
             "first_seen = CASE WHEN alarms.first_seen > ? THEN ? ELSE alarms.first_seen END"]
    params += [r.at, r.at, r.at, r.at]
    db.execute(f"UPDATE alarms SET {', '.join(sets)} WHERE id = ?", (*params, alarm_id))


def apply_clear(db: Database, device: str, c: Clear) -> int:
    """End the stream's open alarm if it began before this clear, and remember the clear; alarms cleared."""
    stream = (device, c.kind, c.source)
    db.execute(
        "INSERT INTO alarm_clears (device, kind, source, order_cleared, cleared_at, cleared_by)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device, kind, source) DO UPDATE SET"
        " order_cleared = excluded.order_cleared, cleared_at = excluded.cleared_at,"
        " cleared_by = excluded.cleared_by WHERE alarm_clears.order_cleared < excluded.order_cleared",
        (*stream, c.order, c.at, c.by),
    )
    acked = ""
    params: list[Any] = [c.at, c.by, c.order]
    if c.acked_by is not None:
        acked = (", acked_at = CASE WHEN alarms.acked_by IS NULL THEN ? ELSE alarms.acked_at END,"
                 " acked_by = coalesce(alarms.acked_by, ?)")
        params += [c.at, c.acked_by]
    cursor = db.execute(
        f"UPDATE alarms SET state = 'cleared', cleared_at = ?, cleared_by = ?, order_cleared = ?{acked}"
        f" WHERE {_STREAM} AND state = 'open' AND order_first < ?",
        (*params, *stream, c.order),
    )
    return max(cursor.rowcount, 0)


def get_alarm(db: Database, alarm_id: str) -> Alarm | None:
    """The alarm with this id, or None."""
    row = db.one(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id = ?", (alarm_id,))
    return None if row is None else alarm_from_row(row)


def find_ids(db: Database, prefix: str, limit: int = 2) -> list[str]:
    """Ids starting with `prefix`, a hexadecimal string (at most `limit`)."""
    if not prefix or any(ch not in "0123456789abcdef" for ch in prefix):
        return []
    rows = db.query(f"SELECT id FROM alarms WHERE id LIKE ? ORDER BY id LIMIT {int(limit)}", (prefix + "%",))
    return [str(row[0]) for row in rows]


def list_alarms(
    db: Database, *, open_only: bool = False, device: str | None = None, kind: str | None = None
) -> list[Alarm]:
    """Alarms: open ones first, critical first, then the latest first."""
    where: list[str] = []
    params: list[Any] = []
    if open_only:
        where.append("state = 'open'")
    if device is not None:
        where.append("device = ?")
        params.append(device)
    if kind is not None:
        where.append("kind = ?")
        params.append(kind)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = db.query(
        f"SELECT {ALARM_COLUMNS} FROM alarms{clause}"
        " ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END,"
        " CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, last_seen DESC, id",
        params,
    )
    return [alarm_from_row(row) for row in rows]


def open_alarms(db: Database, device: str, kinds: Sequence[str]) -> list[Alarm]:
    """A device's open alarms of these kinds."""
    marks = ", ".join("?" for _ in kinds)
    rows = db.query(
        f"SELECT {ALARM_COLUMNS} FROM alarms WHERE device = ? AND state = 'open' AND kind IN ({marks})",
        (device, *kinds),
    )
    return [alarm_from_row(row) for row in rows]
