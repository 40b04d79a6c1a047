"""The questions a commune asks, answered from the roll-up tables only (never from raw records)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fleet.errors import FleetConfigError
from fleet.store.db import Database

WATER_COLUMNS = ("device", "meter", "night", "min_flow_lph", "samples", "volume_l")
LIGHTING_COLUMNS = ("device", "circuit", "day", "lit_s", "dark_s", "switches")
ENERGY_COLUMNS = ("device", "meter", "register", "day", "energy_kwh", "samples", "resets")


def _table_exists(db: Database, name: str) -> bool:
    if db.dialect == "sqlite":
        return bool(db.scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))
    return bool(db.scalar("SELECT count(*) FROM pg_tables WHERE tablename = ?", (name,)))


def group_devices(db: Database, group: str) -> list[str]:
    """The devices of a registry group (a commune); FleetConfigError when there is no such group."""
    if not _table_exists(db, "group_members"):
        raise FleetConfigError(f"--group {group!r}: this store has no groups")
    devices = [row[0] for row in db.query(
        "SELECT device FROM group_members WHERE group_name = ? ORDER BY device", (group,)
    )]
    if not devices:
        raise FleetConfigError(f"--group {group!r}: no such group, or it has no devices")
    return devices


def _where(
    devices: Sequence[str], column: str, first: str | None, last: str | None, extra: dict[str, str | None]
) -> tuple[str, list[Any]]:
    marks = ",".join("?" * len(devices))
    clauses, args = [f"device IN ({marks})"], list(devices)
    if first is not None:
        clauses.append(f"{column} >= ?")
        args.append(first)
    if last is not None:
        clauses.append(f"{column} <= ?")
        args.append(last)
    for name, value in extra.items():
        if value is not None:
            clauses.append(f"{name} = ?")
            args.append(value)
    return " AND ".join(clauses), args


def water_nights(
    db: Database, devices: Sequence[str], *, meter: str | None = None, first: str | None = None,
    last: str | None = None,
) -> list[tuple[Any, ...]]:
    """Minimum night flow per meter and night (nights named by their evening), oldest first."""
    where, args = _where(devices, "night", first, last, {"meter": meter})
    return db.query(
        f"SELECT {', '.join(WATER_COLUMNS)} FROM water_nights WHERE {where} ORDER BY device, meter, night", args
    )


def lighting_days(
    db: Database, devices: Sequence[str], *, circuit: str | None = None, first: str | None = None,
    last: str | None = None,
) -> list[tuple[Any, ...]]:
    """Seconds lit and of astronomical night per circuit and day."""
    where, args = _where(devices, "day", first, last, {"circuit": circuit})
    return db.query(
        f"SELECT {', '.join(LIGHTING_COLUMNS)} FROM lighting_days WHERE {where} ORDER BY device, circuit, day", args
    )


def energy_days(
    db: Database, devices: Sequence[str], *, meter: str | None = None, register: str | None = None,
    first: str | None = None, last: str | None = None,
) -> list[tuple[Any, ...]]:
    """Energy per meter register and day."""
    where, args = _where(devices, "day", first, last, {"meter": meter, "register": register})
    return db.query(
        f"SELECT {', '.join(ENERGY_COLUMNS)} FROM energy_days WHERE {where} ORDER BY device, meter, register, day",
        args,
    )


def energy_totals(
    db: Database, devices: Sequence[str], *, register: str | None = None, first: str | None = None,
    last: str | None = None,
) -> list[tuple[str, float]]:
    """Energy per day summed over the devices (a commune's day), of one register name or all."""
    where, args = _where(devices, "day", first, last, {"register": register})
    return [
        (day, float(kwh)) for day, kwh in db.query(
            f"SELECT day, sum(energy_kwh) FROM energy_days WHERE {where} GROUP BY day ORDER BY day", args
        )
    ]
