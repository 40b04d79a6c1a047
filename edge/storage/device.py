"""A database belongs to one device: it records the device's id, and a command for another device refuses it."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from edge.storage.schema import NewerSchemaError
from edge.storage.store import Store

#: The state row holding the id of the device the database belongs to.
DEVICE_KEY = "device"


def recorded_device(store: Store) -> str | None:
    """The device id the database records, or None (an older database, or an unreadable row)."""
    row = store.conn.execute("SELECT value FROM state WHERE key = ?", (DEVICE_KEY,)).fetchone()
    try:
        value = json.loads(row[0]) if row is not None else None
    except (ValueError, TypeError):
        return None
    found = value.get("id") if isinstance(value, dict) else None
    return found if isinstance(found, str) and found else None


def claim_device(store: Store, device_id: str) -> str | None:
    """Record `device_id` in a database that has none; the other device's id when it belongs to another."""
    found = recorded_device(store)
    if found is None:
        with store.transaction(with_pending=False) as conn:
            conn.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (DEVICE_KEY, json.dumps({"id": device_id})),
            )
        return None
    return None if found == device_id else found


def device_refusal(db_path: Path, device_id: str, config_path: object) -> str | None:
    """Why a command for `device_id` must not use the database at `db_path` (one line), or None.

    A database without a recorded id adopts `device_id`; a missing one is not created (the agent records its
    device in every database it uses); one that cannot be opened is left to the command, which says why.
    """
    if not db_path.exists():
        return None
    try:
        with Store(db_path, monotonic=time.monotonic) as store:
            other = claim_device(store, device_id)
    except (sqlite3.Error, OSError, NewerSchemaError):
        return None
    if other is None:
        return None
    return (f"the database {db_path} belongs to device {other!r}, not to {device_id!r} ({config_path}): "
            "refusing to use it")
