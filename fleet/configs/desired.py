"""Desired configs in the store: fragments per device and per group, each device's merged desired config and
its version, recomputed whenever a fragment or a group membership changes.

A device's version goes up only when its merged content changes (same content, same version), and always past
any version the fleet or the box has known for it, since a box ignores a version not newer than its own.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fleet.configs.merge import (
    SOURCE,
    FragmentError,
    canonical,
    content_hash,
    device_stub,
    merge_all,
    parse_fragment,
    validate,
)
from fleet.errors import FleetError
from fleet.protocol import DEVICE_PATTERN
from fleet.store.db import Database

SCOPES = ("device", "group")
#: Held (PostgreSQL advisory lock) by every transaction that changes fragments or desired configs.
LOCK = "hameau-fleet-configs"

_GROUP_INPUTS = (
    "SELECT m.device, g.name, f.version, f.tables FROM group_members m"
    " JOIN groups g ON g.name = m.group_name"
    " JOIN config_fragments f ON f.scope = 'group' AND f.name = g.name"
)
_ORDER = " ORDER BY m.device, coalesce(g.priority, 0), g.name"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a change did to one device's desired config."""

    device: str
    version: int
    changed: bool
    cleared: bool = False


@dataclass(frozen=True, slots=True)
class Input:
    """One fragment merged into a device's desired config."""

    scope: str
    name: str
    version: int
    tables: Mapping[str, Any]

    @property
    def label(self) -> str:
        """How messages name it: `group north v3`."""
        return f"{self.scope} {self.name} v{self.version}"


def _inputs_of(rows: list[tuple[Any, ...]], own: tuple[Any, ...] | None, device: str) -> list[Input]:
    inputs = [Input("group", str(name), int(version), json.loads(tables)) for _d, name, version, tables in rows]
    if own is not None:
        inputs.append(Input("device", device, int(own[0]), json.loads(own[1])))
    return inputs


def inputs_for(db: Database, device: str) -> list[Input]:
    """The fragments that make `device`'s desired config, in merge order."""
    rows = db.query(_GROUP_INPUTS + " WHERE m.device = ?" + _ORDER, (device,))
    own = db.one("SELECT version, tables FROM config_fragments WHERE scope = 'device' AND name = ?", (device,))
    return _inputs_of(rows, own, device)


def fingerprint(inputs: list[Input]) -> str:
    """The inputs as stored in device_configs.inputs (names and versions, in order)."""
    return ",".join(f"{i.scope}:{i.name}@{i.version}" for i in inputs)


def _place(db: Database, device: str) -> tuple[float | None, float | None, str | None]:
    row = db.one("SELECT latitude, longitude, timezone FROM registry WHERE device = ?", (device,))
    return (None, None, None) if row is None else (row[0], row[1], row[2])


def _next_version(db: Database, device: str) -> int:
    known = db.one(
        "SELECT c.desired_version, c.reported_version, d.config_version FROM device_configs c"
        " LEFT JOIN devices d ON d.id = c.device WHERE c.device = ?",
        (device,),
    )
    if known is None:
        known = (None, None, db.scalar("SELECT config_version FROM devices WHERE id = ?", (device,)))
    return max(int(v) for v in (*known, 0) if v is not None) + 1


def refresh(db: Database, device: str, *, by: str, now: float, inputs: list[Input] | None = None) -> Outcome:
    """Recompute `device`'s desired config (inside a transaction holding LOCK); FragmentError if the box would
    refuse the merge (nothing is then changed)."""
    if inputs is None:
        inputs = inputs_for(db, device)
    row = db.one("SELECT desired_version, desired_hash, desired_body FROM device_configs WHERE device = ?", (device,))
    if not inputs:
        if row is None or row[2] is None:
            if row is not None:
                db.execute("UPDATE device_configs SET inputs = '', desired_error = NULL WHERE device = ?", (device,))
            return Outcome(device, 0 if row is None or row[0] is None else int(row[0]), changed=False, cleared=True)
        body, digest = None, None
    else:
        merged = merge_all([i.tables for i in inputs])
        where = SOURCE.format(device=device, inputs=", ".join(i.label for i in inputs))
        validate(device, merged, where, device_stub(device, *_place(db, device)))
        body, digest = canonical(merged), content_hash(merged)
    if row is not None and row[1] == digest:
        db.execute(
            "UPDATE device_configs SET inputs = ?, desired_error = NULL WHERE device = ?", (fingerprint(inputs), device)
        )
        return Outcome(device, int(row[0] or 0), changed=False, cleared=body is None)
    version = _next_version(db, device)
    db.execute(
        "INSERT INTO device_configs (device, desired_version, desired_hash, desired_body, desired_at, desired_by,"
        " inputs, desired_error) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"
        " ON CONFLICT (device) DO UPDATE SET desired_version = excluded.desired_version,"
        " desired_hash = excluded.desired_hash, desired_body = excluded.desired_body,"
        " desired_at = excluded.desired_at, desired_by = excluded.desired_by, inputs = excluded.inputs,"
        " desired_error = NULL",
        (device, version, digest, body, now, by, fingerprint(inputs)),
    )
    return Outcome(device, version, changed=True, cleared=body is None)


def _check_target(scope: str, name: str) -> None:
    if scope not in SCOPES:
        raise FleetError(f"scope {scope!r}: must be device or group")
    if scope == "device" and not DEVICE_PATTERN.fullmatch(name):
        raise FleetError(f"device id {name!r} must match {DEVICE_PATTERN.pattern}")
    if not name or len(name) > 200:
        raise FleetError(f"{scope} name {name!r}: give 1 to 200 characters")


def _devices_of(db: Database, scope: str, name: str) -> list[str]:
    if scope == "device":
        return [name]
    return [str(r[0]) for r in db.query("SELECT device FROM group_members WHERE group_name = ? ORDER BY device", (name,))]


def _refresh_all(db: Database, devices: list[str], by: str, now: float) -> list[Outcome]:
    outcomes, problems = [], []
    for device in devices:
        try:
            outcomes.append(refresh(db, device, by=by, now=now))
        except FragmentError as error:
            problems.extend(error.problems)
    if problems:
        raise FragmentError(problems)  # the transaction rolls back: nothing stored, nothing published
    return outcomes


def set_fragment(db: Database, scope: str, name: str, text: str, *, by: str, now: float) -> list[Outcome]:
    """Store a fragment and recompute the desired config of every device it reaches, all or nothing."""
    _check_target(scope, name)
    tables = parse_fragment(text, f"{scope} {name} fragment")
    with db.transaction():
        db.lock(LOCK)
        if scope == "group" and db.one("SELECT name FROM groups WHERE name = ?", (name,)) is None:
            raise FleetError(f"no group {name!r} in the registry: create it first")
        old = db.one("SELECT version, tables FROM config_fragments WHERE scope = ? AND name = ?", (scope, name))
        encoded = canonical(tables)
        if old is None or old[1] != encoded:
            version = 1 if old is None else int(old[0]) + 1
            db.execute(
                "INSERT INTO config_fragments (scope, name, text, tables, version, set_by, set_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, name) DO UPDATE SET text = excluded.text,"
                " tables = excluded.tables, version = excluded.version, set_by = excluded.set_by,"
                " set_at = excluded.set_at",
                (scope, name, text, encoded, version, by, now),
            )
        return _refresh_all(db, _devices_of(db, scope, name), by, now)


def unset_fragment(db: Database, scope: str, name: str, *, by: str, now: float) -> list[Outcome]:
    """Remove a fragment and recompute the devices it reached (refused if a merge left would not check)."""
    _check_target(scope, name)
    with db.transaction():
        db.lock(LOCK)
        if db.execute("DELETE FROM config_fragments WHERE scope = ? AND name = ?", (scope, name)).rowcount == 0:
            raise FleetError(f"no config fragment for {scope} {name!r}")
        return _refresh_all(db, _devices_of(db, scope, name), by, now)


def _stale(db: Database) -> dict[str, list[Input]]:
    groups = db.query(_GROUP_INPUTS + _ORDER)
    owns = {str(r[0]): (r[1], r[2]) for r in db.query(
        "SELECT name, version, tables FROM config_fragments WHERE scope = 'device'")}
    stored = {str(r[0]): str(r[1]) for r in db.query("SELECT device, inputs FROM device_configs")}
    by_device: dict[str, list[tuple[Any, ...]]] = {}
    for row in groups:
        by_device.setdefault(str(row[0]), []).append(row)
    stale = {}
    for device in sorted(set(by_device) | set(owns) | set(stored)):
        inputs = _inputs_of(by_device.get(device, []), owns.get(device), device)
        if stored.get(device, "") != fingerprint(inputs):
            stale[device] = inputs
    return stale


def refresh_stale(db: Database, *, now: float) -> list[Outcome]:
    """Recompute every device whose fragments or group memberships changed since its desired config was made
    (a membership changed by the registry); a merge the box would refuse is kept as desired_error, and the
    previous desired config stays. Reads only, unless something changed."""
    if not _stale(db):
        return []
    outcomes = []
    with db.transaction():
        db.lock(LOCK)
        for device, inputs in _stale(db).items():
            try:
                outcomes.append(refresh(db, device, by="fleet (group membership)", now=now, inputs=inputs))
            except FragmentError as error:
                db.execute(
                    "INSERT INTO device_configs (device, desired_version, desired_at, desired_by, inputs,"
                    " desired_error) VALUES (?, NULL, ?, 'fleet', ?, ?) ON CONFLICT (device) DO UPDATE SET"
                    " inputs = excluded.inputs, desired_error = excluded.desired_error",
                    (device, now, fingerprint(inputs), str(error)[:4000]),
                )
    return outcomes
