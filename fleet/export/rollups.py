"""Roll-up series of one device (per-night water, per-day lighting and energy), read in windows of days."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fleet.store.db import Database

#: Days read per query: a year of a device's roll-ups in a few small queries.
WINDOW_DAYS = 62


@dataclass(frozen=True, slots=True)
class Rollup:
    """A roll-up table: its day column (a night is named by its evening), its keys and its figures with units."""

    name: str
    day: str
    sensor: str
    register: str | None
    values: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The series' key columns besides the device: sensor, then register (energy)."""
        return (self.sensor,) if self.register is None else (self.sensor, self.register)


ROLLUPS: dict[str, Rollup] = {
    "water_nights": Rollup("water_nights", "night", "meter", None, ("min_flow_lph", "samples", "volume_l")),
    "lighting_days": Rollup("lighting_days", "day", "circuit", None, ("lit_s", "dark_s", "switches")),
    "energy_days": Rollup("energy_days", "day", "meter", "register", ("energy_kwh", "samples", "resets")),
}


@dataclass(frozen=True, slots=True)
class RollupSeries:
    """One roll-up series of a device: a meter or circuit (and energy register), its days."""

    rollup: str
    sensor: str
    register: str | None
    count: int
    first_day: str
    last_day: str


def rollup_series(db: Database, device: str) -> list[RollupSeries]:
    """Every roll-up series `device` has, by roll-up then key."""
    found: list[RollupSeries] = []
    for rollup in ROLLUPS.values():
        keys = ", ".join(rollup.keys)
        for row in db.query(
            f"SELECT {keys}, count(*), min({rollup.day}), max({rollup.day}) FROM {rollup.name}"
            f" WHERE device = ? GROUP BY {keys} ORDER BY {keys}", (device,),
        ):
            register = None if rollup.register is None else str(row[1])
            count, first, last = row[-3:]
            found.append(RollupSeries(rollup.name, str(row[0]), register, int(count), str(first), str(last)))
    return found


def rollup_rows(db: Database, rollup: Rollup, device: str, first_day: date, last_day: date, *,
                sensor: str | None = None, register: str | None = None,
                window_days: int = WINDOW_DAYS) -> Iterator[tuple[Any, ...]]:
    """(day, sensor, [register,] figures...) of `device` from `first_day` to `last_day` included, by day then key."""
    where = ["device = ?", f"{rollup.day} >= ?", f"{rollup.day} <= ?"]
    extra: list[str] = []
    if sensor is not None:
        where.append(f"{rollup.sensor} = ?")
        extra.append(sensor)
    if register is not None and rollup.register is not None:
        where.append(f"{rollup.register} = ?")
        extra.append(register)
    sql = (f"SELECT {rollup.day}, {', '.join(rollup.keys + rollup.values)} FROM {rollup.name}"
           f" WHERE {' AND '.join(where)} ORDER BY {rollup.day}, {', '.join(rollup.keys)}")
    start = first_day
    while start <= last_day:
        end = min(start + timedelta(days=window_days - 1), last_day)
        yield from db.query(sql, (device, start.isoformat(), end.isoformat(), *extra))
        start = end + timedelta(days=1)
