"""The device registry on a `Database`: add, revoke, read; each write in its own transaction.

A write may take a `then(db)` callback, run inside the same transaction after the change and under the
registry's lock: the broker's password and ACL files are rewritten there, so that a failure to write them
rolls the change back, and two fleet commands never interleave their rewrites.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from fleet.registry.model import (
    MAX_SITE_CHARS,
    Device,
    RegistryError,
    check_device_id,
    check_group_name,
    check_text,
    check_timezone,
    parse_coordinate,
)
from fleet.store.db import Database

#: The registry's advisory lock (PostgreSQL; SQLite's write transactions are serialised already).
LOCK_KEY = "hameau-registry"

Then = Callable[[Database], None]

_DEVICE_COLUMNS = "device, site, latitude, longitude, timezone, added_at, revoked_at, commune"


def add_device(
    db: Database,
    device: str,
    site: str,
    *,
    now: float,
    latitude: float | None = None,
    longitude: float | None = None,
    timezone: str | None = None,
    groups: Sequence[str] = (),
    added_by: str | None = None,
    commune: str | None = None,
    then: Then | None = None,
) -> Device:
    """Register a new device (with its groups, which must exist); RegistryError if the id is taken or revoked."""
    check_device_id(device)
    site = check_text(site, "--site", MAX_SITE_CHARS)
    latitude = parse_coordinate(latitude, "--lat", 90.0)
    longitude = parse_coordinate(longitude, "--lon", 180.0)
    timezone = check_timezone(timezone)
    wanted = tuple(dict.fromkeys(check_group_name(g, "--group") for g in groups))
    with db.transaction() as conn:
        conn.lock(LOCK_KEY)
        check_new(conn, device)
        if commune is not None and conn.one("SELECT 1 FROM communes WHERE name = ?", (commune,)) is None:
            raise RegistryError(f"--commune {commune[:80]!r}: no such commune (add it: hameau-fleet communes add)")
        outside = [g for g in wanted if (conn.one("SELECT commune FROM groups WHERE name = ?", (g,)) or (None,))[0]
                   not in (None, commune)]
        if outside:
            raise RegistryError(f"--group {outside[0]!r}: a group of another commune")
        missing = [g for g in wanted if conn.one("SELECT 1 FROM groups WHERE name = ?", (g,)) is None]
        if missing:
            raise RegistryError(f"--group {missing[0]!r}: no such group (create it: hameau-fleet groups add {missing[0]})")
        conn.execute(
            f"INSERT INTO registry ({_DEVICE_COLUMNS}, added_by) VALUES (?,?,?,?,?,?,NULL,?,?)",
            (device, site, latitude, longitude, timezone, now, commune, added_by),
        )
        conn.executemany(
            "INSERT INTO group_members (group_name, device, added_at) VALUES (?,?,?)",
            [(g, device, now) for g in wanted],
        )
        if then is not None:
            then(conn)
    return Device(device, site, latitude, longitude, timezone, now, None, tuple(sorted(wanted)), commune)


def check_new(db: Database, device: str) -> None:
    """RegistryError if `device` is registered already, or was and is revoked (a revoked id is not reused)."""
    row = db.one("SELECT revoked_at FROM registry WHERE device = ?", (device,))
    if row is not None and row[0] is not None:
        raise RegistryError(
            f"device {device!r} was revoked: a revoked id is never reused (its records keep it); choose another id"
        )
    if row is not None:
        raise RegistryError(f"device {device!r} is already registered")


def revoke_device(db: Database, device: str, *, now: float, revoked_by: str | None = None,
                  then: Then | None = None) -> Device:
    """Mark a registered device revoked (its group memberships stay, for the record)."""
    check_device_id(device)
    with db.transaction() as conn:
        conn.lock(LOCK_KEY)
        found = get_device(conn, device)
        if found is None:
            raise RegistryError(f"device {device!r} is not registered")
        if found.revoked:
            raise RegistryError(f"device {device!r} is already revoked")
        conn.execute(
            "UPDATE registry SET revoked_at = ?, revoked_by = ? WHERE device = ?", (now, revoked_by, device)
        )
        if then is not None:
            then(conn)
    return get_device(db, device) or found


def rewrite(db: Database, then: Then) -> None:
    """Run `then(db)` under the registry's lock, in a transaction (rewrite the broker files, nothing else)."""
    with db.transaction() as conn:
        conn.lock(LOCK_KEY)
        then(conn)


def get_device(db: Database, device: str) -> Device | None:
    """One registered device (revoked or not), or None."""
    row = db.one(f"SELECT {_DEVICE_COLUMNS} FROM registry WHERE device = ?", (device,))
    if row is None:
        return None
    return _device(row, _groups_by_device(db, [device]).get(device, ()))


def list_devices(db: Database, *, group: str | None = None, include_revoked: bool = True,
                 commune: str | None = None) -> list[Device]:
    """Registered devices in id order, optionally only one group's, one commune's, and only those not revoked."""
    sql = f"SELECT {_DEVICE_COLUMNS} FROM registry"
    where: list[str] = []
    params: list[str] = []
    if commune is not None:
        where.append("commune = ?")
        params.append(commune)
    if group is not None:
        where.append("device IN (SELECT device FROM group_members WHERE group_name = ?)")
        params.append(group)
    if not include_revoked:
        where.append("revoked_at IS NULL")
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = db.query(sql + " ORDER BY device", params)
    groups = _groups_by_device(db, [r[0] for r in rows])
    return [_device(row, groups.get(row[0], ())) for row in rows]


def active_devices(db: Database) -> list[str]:
    """Ids of the registered devices not revoked, sorted: the ones the broker lets in."""
    return [row[0] for row in db.query("SELECT device FROM registry WHERE revoked_at IS NULL ORDER BY device")]


def require_registered(db: Database, devices: Iterable[str], *, allow_revoked: bool = False) -> list[str]:
    """The ids, each checked registered (and not revoked unless allowed); RegistryError naming the first not."""
    checked = []
    for device in devices:
        check_device_id(device, "DEVICE")
        row = db.one("SELECT revoked_at FROM registry WHERE device = ?", (device,))
        if row is None:
            raise RegistryError(f"device {device!r} is not registered")
        if row[0] is not None and not allow_revoked:
            raise RegistryError(f"device {device!r} is revoked")
        checked.append(device)
    return checked


def _groups_by_device(db: Database, devices: Sequence[str]) -> dict[str, tuple[str, ...]]:
    if not devices:
        return {}
    found: dict[str, list[str]] = {}
    if len(devices) == 1:
        rows = db.query("SELECT device, group_name FROM group_members WHERE device = ? ORDER BY group_name",
                        (devices[0],))
    else:
        rows = db.query("SELECT device, group_name FROM group_members ORDER BY device, group_name")
    for device, group in rows:
        found.setdefault(device, []).append(group)
    return {device: tuple(groups) for device, groups in found.items()}


def _device(row: tuple, groups: tuple[str, ...]) -> Device:
    lat, lon = (None if v is None else float(v) for v in (row[2], row[3]))
    return Device(row[0], row[1], lat, lon, row[4], float(row[5]), None if row[6] is None else float(row[6]), groups,
                  row[7])
