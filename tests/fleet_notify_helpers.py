"""What the notifier's tests share: alarms raised and cleared through the alarms table's own API, settings
built through the real parser, and the outbox read back."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fleet.alarms.model import Clear, Raise
from fleet.alarms.table import apply_clear, apply_raise
from fleet.notify.settings import NotifySettings, parse_notify_settings
from fleet.store import open_store
from fleet.store.db import Database

#: 2026-11-28 10:00:00 UTC (11:00 in Paris): the scenarios' start.
T0 = 1795860000.0
SECRET = "village-hall-shared-secret"


@contextmanager
def fleet_db(url: str) -> Iterator[Database]:
    """The migrated fleet store's database at `url`, closed after."""
    store = open_store(url)
    try:
        yield store.db
    finally:
        store.close()


def raise_alarm(db: Database, device: str, kind: str, at: float, *, severity: str = "warning",
                message: str = "", evidence: dict[str, Any] | None = None, source: str = "fleet") -> str:
    """Open an alarm as the alarms module does; its id."""
    with db.transaction():
        return apply_raise(db, device, Raise(kind=kind, source=source, severity=severity,
                                             message=message or f"{kind} on {device}",
                                             evidence=evidence or {}, at=at, order=at))


def clear_alarm(db: Database, device: str, kind: str, at: float, *, source: str = "fleet") -> int:
    """Clear the (device, kind, source) alarm as the alarms module does."""
    with db.transaction():
        return apply_clear(db, device, Clear(kind=kind, source=source, at=at, order=at, by="test"))


def secret_file(tmp_path: Path, text: str = SECRET, mode: int = 0o600) -> Path:
    """A secret file with the given mode."""
    path = tmp_path / f"secret-{mode:o}-{len(text)}"
    path.write_text(text + "\n", encoding="utf-8")
    os.chmod(path, mode)
    return path


def settings(*, smtp: dict[str, Any] | None = None, webhook: dict[str, Any] | None = None,
             **top: Any) -> NotifySettings:
    """Settings through the real parser (Paris time unless told)."""
    table: dict[str, Any] = {"timezone": "Europe/Paris", **top}
    if smtp is not None:
        table["smtp"] = {"from": "Hameau fleet <fleet@hameau.test>", "recipients": ["ops@village.test"],
                         "host": "127.0.0.1", "security": "none", **smtp}
    if webhook is not None:
        table["webhook"] = webhook
    return parse_notify_settings(table, "test.toml")


def outbox_rows(db: Database, channel: str | None = None) -> list[dict[str, Any]]:
    """Every outbox row, oldest first, as dicts (alarm_ids decoded)."""
    columns = ("id", "channel", "target", "kind", "alarm_ids", "subject", "body", "state", "attempts",
               "next_attempt_at", "last_error", "created_at", "sent_at")
    rows = [dict(zip(columns, row, strict=True)) for row in db.query(
        f"SELECT {', '.join(columns)} FROM notify_outbox ORDER BY created_at, channel, id")]
    for row in rows:
        row["alarm_ids"] = json.loads(row["alarm_ids"])
    return [row for row in rows if channel is None or row["channel"] == channel]
