"""Communes in the store: create, change, read, and put boxes, users and groups in one."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from fleet.registry.model import (
    RegistryError,
    check_device_id,
    check_group_name,
    check_user_name,
)
from fleet.store.db import Database
from fleet.tenants.model import (
    DEFAULT_CO2_KG_PER_KWH,
    DEFAULT_TARIFF_EUR_PER_KWH,
    Commune,
    Ring,
    check_commune_name,
)

_COLUMNS = ("name, title, public_text, public_page, tariff_eur_per_kwh, co2_kg_per_kwh, report_question,"
            " report_answer, outline, recipients, created_at")
#: What `members` may put in a commune: the table and its key column.
MEMBER_TABLES = {"device": ("registry", "device"), "user": ("users", "name"), "group": ("groups", "name")}


def new_commune(name: str, title: str, *, now: float) -> Commune:
    """A commune with the default factors, no text, no question, no outline, no recipients."""
    return Commune(name=check_commune_name(name), title=title, public_text="", public_page=True,
                   tariff_eur_per_kwh=DEFAULT_TARIFF_EUR_PER_KWH, co2_kg_per_kwh=DEFAULT_CO2_KG_PER_KWH,
                   report_question=None, report_answer=None, outline=(), recipients=(), created_at=now)


def _values(c: Commune) -> tuple[Any, ...]:
    outline = json.dumps([[list(p) for p in ring] for ring in c.outline]) if c.outline else None
    return (c.name, c.title, c.public_text, int(c.public_page), c.tariff_eur_per_kwh, c.co2_kg_per_kwh,
            c.report_question, c.report_answer, outline, ",".join(c.recipients), c.created_at)


def create_commune(db: Database, commune: Commune) -> Commune:
    """Store a new commune; RegistryError if the name is taken."""
    with db.transaction() as conn:
        if conn.one("SELECT 1 FROM communes WHERE name = ?", (commune.name,)) is not None:
            raise RegistryError(f"commune {commune.name!r} already exists")
        conn.execute(f"INSERT INTO communes ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", _values(commune))
    return commune


def update_commune(db: Database, name: str, **changes: Any) -> Commune:
    """Change some of a commune's fields (checked by the caller); RegistryError if there is no such commune."""
    with db.transaction() as conn:
        found = get_commune(conn, name)
        if found is None:
            raise RegistryError(f"no commune {name[:80]!r} (add one with hameau-fleet communes add)")
        changed = replace(found, **changes)
        names = [c.strip() for c in _COLUMNS.split(",")][1:]
        conn.execute(f"UPDATE communes SET {', '.join(f'{c} = ?' for c in names)} WHERE name = ?",
                     (*_values(changed)[1:], name))
    return changed


def get_commune(db: Database, name: str) -> Commune | None:
    """One commune, or None."""
    row = db.one(f"SELECT {_COLUMNS} FROM communes WHERE name = ?", (name,))
    return None if row is None else _commune(row)


def require_commune(db: Database, name: str, option: str = "--commune") -> Commune:
    """The commune `name`; RegistryError naming the option when there is none."""
    check_commune_name(name, option)
    found = get_commune(db, name)
    if found is None:
        raise RegistryError(f"{option} {name!r}: no such commune (add it: hameau-fleet communes add {name})")
    return found


def list_communes(db: Database) -> list[Commune]:
    """Every commune, in name order."""
    return [_commune(row) for row in db.query(f"SELECT {_COLUMNS} FROM communes ORDER BY name")]


def commune_of(db: Database, kind: str, key: str) -> str | None:
    """The commune of a device, user or group (None: the service's, or unknown)."""
    table, column = MEMBER_TABLES[kind]
    row = db.one(f"SELECT commune FROM {table} WHERE {column} = ?", (key,))
    return None if row is None or row[0] is None else str(row[0])


def set_members(db: Database, commune: str | None, kind: str, keys: Sequence[str]) -> list[str]:
    """Put devices, users or groups in a commune (None: back to the service); RegistryError on an unknown one.

    A box leaves the groups of another commune; a group keeps only boxes of its new commune.
    """
    table, column = MEMBER_TABLES[kind]
    check = {"device": check_device_id, "user": check_user_name, "group": check_group_name}[kind]
    with db.transaction() as conn:
        if commune is not None:
            require_commune(conn, commune)
        for key in keys:
            check(key, kind.upper())
            if conn.one(f"SELECT 1 FROM {table} WHERE {column} = ?", (key,)) is None:
                raise RegistryError(f"{kind} {key[:80]!r} does not exist")
            conn.execute(f"UPDATE {table} SET commune = ? WHERE {column} = ?", (commune, key))
            if kind == "device":
                conn.execute(
                    "DELETE FROM group_members WHERE device = ? AND group_name IN"
                    " (SELECT name FROM groups WHERE commune IS NOT NULL AND commune IS DISTINCT FROM ?)",
                    (key, commune))
            elif kind == "group" and commune is not None:
                conn.execute(
                    "DELETE FROM group_members WHERE group_name = ? AND device NOT IN"
                    " (SELECT device FROM registry WHERE commune = ?)", (key, commune))
    return list(keys)


def _rings(text: str | None) -> tuple[Ring, ...]:
    if not text:
        return ()
    return tuple(tuple((float(p[0]), float(p[1])) for p in ring) for ring in json.loads(text))


def _commune(row: tuple) -> Commune:
    return Commune(
        name=row[0], title=row[1], public_text=row[2], public_page=bool(row[3]),
        tariff_eur_per_kwh=float(row[4]), co2_kg_per_kwh=float(row[5]), report_question=row[6],
        report_answer=row[7], outline=_rings(row[8]), recipients=tuple(r for r in str(row[9]).split(",") if r),
        created_at=float(row[10]),
    )
