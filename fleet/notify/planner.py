"""The planner job's work: turn alarms into outbox messages, once each, and the daily digest, once a day.

In one transaction under one lock (so two serve processes plan each message once):
- every alarm not seen before gets a mark (noticed now); below the minimum severity it is marked skipped;
- the openings of one kind wait until `group_window_s` after the first of them was noticed (the delay of a
  message is at most the window plus two planner periods: one to notice, one to see the window end); then, if more than `group_threshold` alarms of
  that kind are waiting, ONE grouped message lists them all (30 boxes offline after a power cut), otherwise
  each gets its own message. An alarm that cleared while it waited is announced with its clearing;
- an announced alarm that clears is announced once more, grouped the same way (the power comes back);
- at or after `digest_time` (local time in `timezone`) the day's digest is planned, unless the day's
  marker row exists already: exactly once a day, whatever the number of serve processes.
Alarms are announced per commune of their box (grouping included): a message goes to the service's channels and
to its commune's recipients, never to another commune's; each commune with recipients gets its own digest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from fleet.notify.compose import (
    ALARM_COLUMNS,
    Alarm,
    Message,
    alarm_message,
    cleared_message,
    digest_message,
    group_message,
)
from fleet.notify.outbox import enqueue, purge
from fleet.notify.settings import NotifySettings
from fleet.store.db import Database
from fleet.tenants.communes import list_communes

#: The advisory lock of the planner on PostgreSQL (SQLite's write lock serialises anyway).
PLAN_LOCK = "hameau-fleet-notify-plan"
#: Cleared alarms older than this when first seen are not announced (e.g. history, when notifications start).
RECENT_S = 86400.0
#: Sent and failed outbox rows are forgotten after this long.
KEEP_S = 90 * 86400.0


@dataclass(frozen=True, slots=True)
class PlanReport:
    """What one planning run queued: the messages (before fanning out to channels), and the outbox rows."""

    messages: tuple[Message, ...]
    rows: int


def plan(db: Database, settings: NotifySettings, now: float) -> PlanReport:
    """Queue every message due at `now`; safe to run concurrently from several processes."""
    messages: list[Message] = []
    with db.transaction():
        db.lock(PLAN_LOCK)
        _notice(db, settings, now)
        messages += _openings(db, settings, now)
        messages += _clearings(db, settings, now)
        messages += _digest(db, settings, now)
        recipients = {c.name: c.recipients for c in list_communes(db)}
        rows = sum(enqueue(db, settings, message, now, also_to=recipients.get(message.commune or "", ()))
                   for message in messages)
        purge(db, now - KEEP_S)
    return PlanReport(tuple(messages), rows)


def _notice(db: Database, settings: NotifySettings, now: float) -> None:
    new = db.query(
        "SELECT a.id, a.kind, a.severity FROM alarms a LEFT JOIN notify_marks m ON m.alarm_id = a.id"
        " WHERE m.alarm_id IS NULL AND (a.state = 'open' OR a.cleared_at >= ?)", (now - RECENT_S,))
    db.executemany(
        "INSERT INTO notify_marks (alarm_id, kind, noticed_at, skipped) VALUES (?,?,?,?)"
        " ON CONFLICT (alarm_id) DO NOTHING",
        [(alarm_id, kind, now, 0 if settings.announces(str(severity)) else 1) for alarm_id, kind, severity in new])
    db.execute(
        "UPDATE notify_marks SET clear_noticed_at = ? WHERE opened_at IS NOT NULL AND cleared_at IS NULL"
        " AND clear_noticed_at IS NULL AND EXISTS (SELECT 1 FROM alarms a WHERE a.id = notify_marks.alarm_id"
        " AND a.state = 'cleared')", (now,))


def _load(db: Database, ids: Sequence[str]) -> list[Alarm]:
    found: list[Alarm] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        found += [Alarm.from_row(row) for row in db.query(
            f"SELECT {ALARM_COLUMNS} FROM alarms WHERE id IN ({','.join('?' * len(chunk))})", chunk)]
    return found


def _by_commune(db: Database, alarms: Sequence[Alarm]) -> list[tuple[str | None, list[Alarm]]]:
    """The alarms split by the commune of their box (None: the service's own or unregistered boxes first)."""
    devices = sorted({a.device for a in alarms})
    commune: dict[str, str | None] = {}
    for start in range(0, len(devices), 500):
        chunk = devices[start:start + 500]
        commune.update({str(d): None if c is None else str(c) for d, c in db.query(
            f"SELECT device, commune FROM registry WHERE device IN ({','.join('?' * len(chunk))})", chunk)})
    split: dict[str | None, list[Alarm]] = defaultdict(list)
    for alarm in alarms:
        split[commune.get(alarm.device)].append(alarm)
    return sorted(split.items(), key=lambda item: (item[0] is not None, item[0] or ""))


def _announce(db: Database, settings: NotifySettings, kind: str, alarms: Sequence[Alarm], *,
              cleared: bool) -> list[Message]:
    """Per commune: one grouped message when more than the threshold, else one message each."""
    messages: list[Message] = []
    single = cleared_message if cleared else alarm_message
    for commune, mine in _by_commune(db, alarms):
        if len(mine) > settings.group_threshold:
            found = [group_message(kind, mine, settings.zone, cleared=cleared)]
        else:
            found = [single(a, settings.zone) for a in sorted(mine, key=lambda a: (a.device, a.id))]
        messages += [replace(m, commune=commune) for m in found]
    return messages


def _ripe(db: Database, settings: NotifySettings, now: float, waiting_sql: str, since_column: str,
          ) -> dict[str, list[str]]:
    """Per kind, the ids waiting to be announced, for the kinds whose window has closed."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    first: dict[str, float] = {}
    for alarm_id, kind, since in db.query(
            f"SELECT alarm_id, kind, {since_column} FROM notify_marks WHERE {waiting_sql} ORDER BY alarm_id"):
        by_kind[kind].append(alarm_id)
        first[kind] = min(first.get(kind, since), since)
    return {kind: ids for kind, ids in by_kind.items() if now >= first[kind] + settings.group_window_s}


def _openings(db: Database, settings: NotifySettings, now: float) -> list[Message]:
    messages: list[Message] = []
    for kind, ids in sorted(_ripe(db, settings, now, "opened_at IS NULL AND skipped = 0", "noticed_at").items()):
        alarms = _load(db, ids)
        messages += _announce(db, settings, kind, alarms, cleared=False)
        db.executemany("UPDATE notify_marks SET opened_at = ? WHERE alarm_id = ?", [(now, i) for i in ids])
        # Announced together with its clearing: no second message for it.
        db.executemany(
            "UPDATE notify_marks SET clear_noticed_at = ?, cleared_at = ? WHERE alarm_id = ?",
            [(now, now, a.id) for a in alarms if a.state == "cleared"])
    return messages


def _clearings(db: Database, settings: NotifySettings, now: float) -> list[Message]:
    messages: list[Message] = []
    ripe = _ripe(db, settings, now, "clear_noticed_at IS NOT NULL AND cleared_at IS NULL AND opened_at IS NOT NULL",
                 "clear_noticed_at")
    for kind, ids in sorted(ripe.items()):
        alarms = _load(db, ids)
        messages += _announce(db, settings, kind, alarms, cleared=True)
        db.executemany("UPDATE notify_marks SET cleared_at = ? WHERE alarm_id = ?", [(now, i) for i in ids])
    return messages


def digest_day(settings: NotifySettings, now: float) -> str | None:
    """The local day whose digest is due at `now` ('YYYY-MM-DD'), or None before the digest's time of day."""
    if settings.digest_time is None:
        return None
    local = datetime.fromtimestamp(now, settings.zone)
    if local.time().replace(tzinfo=None) < settings.digest_time:
        return None
    return local.date().isoformat()


def _digest(db: Database, settings: NotifySettings, now: float) -> list[Message]:
    day = digest_day(settings, now)
    if day is None:
        return []
    marked = db.one("INSERT INTO notify_digests (day, planned_at) VALUES (?, ?) ON CONFLICT (day) DO NOTHING"
                    " RETURNING day", (day, now))
    if marked is None:
        return []
    since = now - 86400.0

    def alarms(where: str, *params: float) -> list[Alarm]:
        return [Alarm.from_row(row) for row in db.query(f"SELECT {ALARM_COLUMNS} FROM alarms WHERE {where}", params)]

    found = (alarms("state = 'open'"), alarms("first_seen >= ? AND first_seen <= ?", since, now),
             alarms("state = 'cleared' AND cleared_at >= ? AND cleared_at <= ?", since, now))
    digests = [digest_message(day, found[0], found[1], found[2], settings.zone)]
    if settings.smtp is None:
        return digests
    for commune in list_communes(db):  # each commune with recipients: the digest of its own boxes only
        if commune.recipients:
            boxes = {str(r[0]) for r in db.query("SELECT device FROM registry WHERE commune = ?", (commune.name,))}
            mine = [[a for a in listed if a.device in boxes] for listed in found]
            digests.append(replace(digest_message(day, mine[0], mine[1], mine[2], settings.zone),
                                   commune=commune.name, commune_only=True))
    return digests
