"""Groups of devices (a commune, a kind of building) and the fleet's users, on a `Database`.

A group's config fragment applies to all its boxes; when a box is in several groups, their fragments merge in
`groups_of` order: ascending priority, then name (the last applied wins).
"""

from __future__ import annotations

from collections.abc import Sequence

from fleet.registry.devices import LOCK_KEY, require_registered
from fleet.registry.model import (
    MAX_DESCRIPTION_CHARS,
    Group,
    RegistryError,
    User,
    check_email,
    check_group_name,
    check_role,
    check_text,
    check_user_name,
)
from fleet.store.db import Database


def create_group(db: Database, name: str, *, now: float, description: str = "", priority: int = 0,
                 commune: str | None = None) -> Group:
    """A new empty group (of a commune, or the service's); RegistryError if the name is taken."""
    check_group_name(name)
    description = check_text(description, "--description", MAX_DESCRIPTION_CHARS, required=False)
    with db.transaction() as conn:
        conn.lock(LOCK_KEY)
        if conn.one("SELECT 1 FROM groups WHERE name = ?", (name,)) is not None:
            raise RegistryError(f"group {name!r} already exists")
        if commune is not None and conn.one("SELECT 1 FROM communes WHERE name = ?", (commune,)) is None:
            raise RegistryError(f"--commune {commune[:80]!r}: no such commune (add it: hameau-fleet communes add)")
        conn.execute("INSERT INTO groups (name, description, priority, created_at, commune) VALUES (?,?,?,?,?)",
                     (name, description, int(priority), now, commune))
    return Group(name, description, int(priority), now, (), commune)


def delete_group(db: Database, name: str) -> None:
    """Remove a group and its memberships (the devices stay registered)."""
    check_group_name(name)
    with db.transaction() as conn:
        conn.lock(LOCK_KEY)
        _require_group(conn, name)
        conn.execute("DELETE FROM group_members WHERE group_name = ?", (name,))
        conn.execute("DELETE FROM groups WHERE name = ?", (name,))


def add_members(db: Database, name: str, devices: Sequence[str], *, now: float) -> list[str]:
    """Put registered, non-revoked devices in a group; returns those not already in it."""
    check_group_name(name)
    with db.transaction() as conn:
        conn.lock(LOCK_KEY)
        _require_group(conn, name)
        owner = conn.one("SELECT commune FROM groups WHERE name = ?", (name,))
        added = []
        for device in dict.fromkeys(require_registered(conn, devices)):
            box = conn.one("SELECT commune FROM registry WHERE device = ?", (device,))
            if owner is not None and owner[0] is not None and box is not None and box[0] != owner[0]:
                raise RegistryError(f"device {device!r} is not a box of commune {owner[0]!r}, whose group {name!r} is")
            cursor = conn.execute(
                "INSERT INTO group_members (group_name, device, added_at) VALUES (?,?,?)"
                " ON CONFLICT (group_name, device) DO NOTHING",
                (name, device, now),
            )
            if cursor.rowcount:
                added.append(device)
    return added


def remove_members(db: Database, name: str, devices: Sequence[str]) -> list[str]:
    """Take devices out of a group; returns those that were in it."""
    check_group_name(name)
    with db.transaction() as conn:
        conn.lock(LOCK_KEY)
        _require_group(conn, name)
        removed = []
        for device in dict.fromkeys(require_registered(conn, devices, allow_revoked=True)):
            cursor = conn.execute("DELETE FROM group_members WHERE group_name = ? AND device = ?", (name, device))
            if cursor.rowcount:
                removed.append(device)
    return removed


def list_groups(db: Database, *, commune: str | None = None) -> list[Group]:
    """Every group (only one commune's when given) with its members, in merge order (priority, then name)."""
    members: dict[str, list[str]] = {}
    for group, device in db.query("SELECT group_name, device FROM group_members ORDER BY group_name, device"):
        members.setdefault(group, []).append(device)
    where, params = ("WHERE commune = ?", (commune,)) if commune is not None else ("", ())
    rows = db.query(f"SELECT name, description, priority, created_at, commune FROM groups {where}"
                    " ORDER BY priority, name", params)
    return [Group(r[0], r[1], int(r[2]), float(r[3]), tuple(members.get(r[0], ())), r[4]) for r in rows]


def groups_of(db: Database, device: str) -> list[str]:
    """The groups a device is in, in merge order: ascending priority, then name (the last one wins)."""
    rows = db.query(
        "SELECT g.name FROM groups g JOIN group_members m ON m.group_name = g.name WHERE m.device = ?"
        " ORDER BY g.priority, g.name",
        (device,),
    )
    return [row[0] for row in rows]


def _require_group(db: Database, name: str) -> None:
    if db.one("SELECT 1 FROM groups WHERE name = ?", (name,)) is None:
        raise RegistryError(f"group {name!r} does not exist")


def add_user(db: Database, name: str, role: str, *, now: float, email: str | None = None,
             commune: str | None = None) -> User:
    """A new fleet user (of a commune, or of the service); RegistryError if the name is taken (a disabled one's too)."""
    check_user_name(name)
    check_role(role)
    check_email(email)
    with db.transaction() as conn:
        if conn.one("SELECT 1 FROM users WHERE name = ?", (name,)) is not None:
            raise RegistryError(f"user {name!r} already exists")
        if commune is not None and conn.one("SELECT 1 FROM communes WHERE name = ?", (commune,)) is None:
            raise RegistryError(f"--commune {commune[:80]!r}: no such commune (add it: hameau-fleet communes add)")
        conn.execute("INSERT INTO users (name, role, email, created_at, commune) VALUES (?,?,?,?,?)",
                     (name, role, email, now, commune))
    return User(name, role, email, now, None, commune)


_USER_COLUMNS = "name, role, email, created_at, disabled_at, commune"


def list_users(db: Database, *, include_disabled: bool = True) -> list[User]:
    """Fleet users in name order."""
    sql = f"SELECT {_USER_COLUMNS} FROM users"
    if not include_disabled:
        sql += " WHERE disabled_at IS NULL"
    return [_user(row) for row in db.query(sql + " ORDER BY name")]


def get_user(db: Database, name: str) -> User | None:
    """One user, disabled or not, or None."""
    row = db.one(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,))
    return None if row is None else _user(row)


def _user(row: tuple) -> User:
    return User(row[0], row[1], row[2], float(row[3]), None if row[4] is None else float(row[4]), row[5])


def disable_user(db: Database, name: str, *, now: float) -> User:
    """Disable a user (the row stays: what they did still names them)."""
    check_user_name(name)
    with db.transaction() as conn:
        row = conn.one("SELECT disabled_at FROM users WHERE name = ?", (name,))
        if row is None:
            raise RegistryError(f"user {name!r} does not exist")
        if row[0] is not None:
            raise RegistryError(f"user {name!r} is already disabled")
        conn.execute("UPDATE users SET disabled_at = ? WHERE name = ?", (now, name))
    user = get_user(db, name)
    assert user is not None  # just updated
    return user
