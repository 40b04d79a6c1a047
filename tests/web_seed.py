"""Seeding a fleet store for the dashboard's view and page tests: registry rows, statuses, records, roll-ups,
desired configs and alarms written as the fleet's own modules write them."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fleet.alarms.model import Raise
from fleet.alarms.table import apply_raise
from fleet.store.db import Database

PARIS = ZoneInfo("Europe/Paris")
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def at(day: date, hh: int, mm: int = 0) -> float:
    """Epoch seconds of a Paris wall time."""
    return datetime.combine(day, time(hh, mm), PARIS).timestamp()


def hall_tables() -> dict[str, Any]:
    """The town hall box's config (examples/village-hall.toml) as the fleet would desire it: no [device],
    [simulation] or [agent]."""
    raw = tomllib.loads((EXAMPLES / "village-hall.toml").read_text(encoding="utf-8"))
    for key in ("device", "simulation", "agent", "link"):
        raw.pop(key, None)
    return raw


def register(db: Database, device: str, site: str, lat: float | None, lon: float | None, *,
             groups: Sequence[str] = (), added_at: float = 0.0) -> None:
    """A registry row, and its group memberships (groups created when missing)."""
    db.execute("INSERT INTO registry (device, site, latitude, longitude, timezone, added_at) VALUES (?,?,?,?,?,?)",
               (device, site, lat, lon, "Europe/Paris", added_at))
    for group in groups:
        db.execute("INSERT INTO groups (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                   (group, added_at))
        db.execute("INSERT INTO group_members (group_name, device, added_at) VALUES (?,?,?)",
                   (group, device, added_at))


def status(db: Database, device: str, *, online: bool, since: float, last_seen: float) -> None:
    """The devices row the ingest keeps from a box's status."""
    db.execute(
        "INSERT INTO devices (id, first_seen, last_seen, online, online_since, status_at) VALUES (?,?,?,?,?,?)",
        (device, since, last_seen, 1 if online else 0, since, last_seen),
    )


class Records:
    """Records of one device written straight into the store, seq numbers kept per lane."""

    def __init__(self, db: Database, device: str) -> None:
        self.db, self.device, self.seq = db, device, {"raw": 0, "total": 0, "event": 0}

    def add(self, lane: str, ts: float, kind: str, body: Mapping[str, Any]) -> None:
        """One record at a trusted time `ts`."""
        self.seq[lane] += 1
        self.db.execute(
            "INSERT INTO records (device, lane, seq, boot, mono_s, wall_s, ts, clock, type, body, received_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (self.device, lane, self.seq[lane], "b1", float(self.seq[lane]), ts, ts, "synced", kind,
             json.dumps(dict(body), separators=(",", ":")), ts + 1),
        )
        self.db.execute(
            "INSERT INTO lanes (device, lane, hwm) VALUES (?,?,?) ON CONFLICT (device, lane) DO UPDATE"
            " SET hwm = excluded.hwm", (self.device, lane, self.seq[lane]),
        )

    def reading(self, ts: float, sensor: str, name: str, value: float, lane: str = "raw") -> None:
        """A reading record."""
        self.add(lane, ts, "reading", {"sensor": sensor, "name": name, "value": value})

    def decision(self, ts: float, source: str, relay: str, on: bool, **data: Any) -> None:
        """A controller's decision event."""
        self.add("event", ts, "event", {"kind": "decision", "source": source, "reason": "test",
                                        "data": {"relay": relay, "on": on, **data}})


def desire(db: Database, device: str, tables: Mapping[str, Any], *, version: int = 1) -> None:
    """A desired config row holding `tables` (as fleet/configs/desired.py stores it)."""
    db.execute(
        "INSERT INTO device_configs (device, desired_version, desired_hash, desired_body, desired_at, desired_by,"
        " inputs) VALUES (?,?,?,?,?,?,?)",
        (device, version, "h", json.dumps(dict(tables), sort_keys=True), 0.0, "test", f"device:{device}@1"),
    )


def raise_alarm(db: Database, device: str, kind: str, severity: str, at_s: float, *, source: str = "leak-hall",
                message: str = "test alarm", evidence: Mapping[str, Any] | None = None,
                box_ref: str | None = None) -> str:
    """An open alarm as the alarms observer opens it; its id."""
    return apply_raise(db, device, Raise(kind, source, severity, message, dict(evidence or {}), at_s, at_s,
                                         box_ref=box_ref))


def clear_alarm(db: Database, alarm_id: str, at_s: float) -> None:
    """Close an alarm at `at_s`."""
    db.execute("UPDATE alarms SET state = 'cleared', cleared_at = ?, cleared_by = 'box', order_cleared = ?"
               " WHERE id = ?", (at_s, at_s, alarm_id))
