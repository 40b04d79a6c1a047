"""The notification outbox: one row per message per channel and target; claimed by compare-and-set so two
serve processes never send the same row at once; retried with backoff; `failed` after the last attempt."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fleet.notify.compose import Message
from fleet.notify.settings import NotifySettings
from fleet.store.db import Database

#: The channels a message is sent on.
CHANNELS = ("email", "webhook")
_COLUMNS = "id, channel, target, kind, alarm_ids, subject, body, attempts, created_at"


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox row waiting to be sent."""

    id: str
    channel: str
    target: str
    kind: str
    alarm_ids: tuple[str, ...]
    subject: str
    body: str
    attempts: int
    created_at: float

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Outgoing:
        """An outgoing message from a row of `SELECT _COLUMNS`."""
        return cls(str(row[0]), str(row[1]), str(row[2]), str(row[3]), tuple(json.loads(row[4])), str(row[5]),
                   str(row[6]), int(row[7]), float(row[8]))


def enqueue(db: Database, settings: NotifySettings, message: Message, now: float, *,
            also_to: Sequence[str] = ()) -> int:
    """Queue `message` once per e-mail recipient (the service's, unless the message is a commune's own, and
    `also_to`: its commune's) and once per webhook URL (the service's); the number of rows queued."""
    rows = []
    ids = json.dumps(list(message.alarm_ids))
    if settings.smtp is not None:
        service = () if message.commune_only else settings.smtp.recipients
        for recipient in dict.fromkeys((*service, *also_to)):
            rows.append((uuid.uuid4().hex, "email", recipient, message.kind, ids, message.subject, message.text))
    if settings.webhook is not None and not message.commune_only:
        for url in settings.webhook.urls:
            row_id = uuid.uuid4().hex
            document = {**message.document, "id": row_id, "created_at": now}
            body = json.dumps(document, sort_keys=True, ensure_ascii=False)
            rows.append((row_id, "webhook", url, message.kind, ids, message.subject, body))
    return db.executemany(
        "INSERT INTO notify_outbox (id, channel, target, kind, alarm_ids, subject, body, state, attempts,"
        " next_attempt_at, created_at) VALUES (?,?,?,?,?,?,?,'pending',0,?,?)",
        [(*row, now, now) for row in rows],
    )


def due(db: Database, now: float, limit: int) -> list[Outgoing]:
    """Pending rows whose time has come, oldest first."""
    return [Outgoing.from_row(row) for row in db.query(
        f"SELECT {_COLUMNS} FROM notify_outbox WHERE state = 'pending' AND next_attempt_at <= ?"
        " ORDER BY next_attempt_at, created_at, id LIMIT ?", (now, limit))]


def claim(db: Database, item: Outgoing, now: float, lease_s: float) -> bool:
    """Count an attempt at `item` and hide it from others for `lease_s`; False if another process took it."""
    with db.transaction():
        taken = db.execute(
            "UPDATE notify_outbox SET attempts = notify_outbox.attempts + 1, next_attempt_at = ?"
            " WHERE id = ? AND state = 'pending' AND attempts = ? AND next_attempt_at <= ?",
            (now + lease_s, item.id, item.attempts, now),
        ).rowcount
    return taken == 1


def mark_sent(db: Database, item_id: str, now: float) -> None:
    """The row was delivered."""
    with db.transaction():
        db.execute("UPDATE notify_outbox SET state = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                   (now, item_id))


def mark_failed(db: Database, item_id: str, attempts: int, error: str, now: float,
                settings: NotifySettings) -> float | None:
    """Record a failed attempt: the time of the next one, or None when it was the last (the row is `failed`)."""
    last = attempts >= settings.max_attempts
    next_at = None if last else now + settings.retry_delay_s(attempts)
    with db.transaction():
        db.execute(
            "UPDATE notify_outbox SET state = ?, next_attempt_at = ?, last_error = ? WHERE id = ?",
            ("failed" if last else "pending", now if next_at is None else next_at, error[:500], item_id),
        )
    return next_at


def postpone(db: Database, item_ids: Sequence[str], until: float) -> None:
    """Hold rows for a target that just failed until its next attempt, without counting an attempt."""
    if item_ids:
        with db.transaction():
            db.executemany(
                "UPDATE notify_outbox SET next_attempt_at = ? WHERE id = ? AND state = 'pending'"
                " AND next_attempt_at < ?",
                [(until, item_id, until) for item_id in item_ids],
            )


def purge(db: Database, before: float) -> int:
    """Forget sent and failed rows created before `before`; the number forgotten."""
    return db.execute("DELETE FROM notify_outbox WHERE state <> 'pending' AND created_at < ?", (before,)).rowcount


def counts(db: Database) -> dict[tuple[str, str], int]:
    """How many rows per (channel, state): `failed` counts the messages given up on."""
    return {(str(channel), str(state)): int(n) for channel, state, n in db.query(
        "SELECT channel, state, count(*) FROM notify_outbox GROUP BY channel, state")}
