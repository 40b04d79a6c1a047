"""Energy per day of each meter register of a box, from the roll-ups (energy_days)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fleet.rollups.queries import energy_days
from fleet.store.db import Database

DAYS = 60


@dataclass(frozen=True, slots=True)
class EnergyDays:
    """One register's energy per local day (None: no figure that day), oldest first."""

    meter: str
    register: str
    days: tuple[tuple[date, float | None], ...]

    @property
    def total_kwh(self) -> float:
        """The energy of the days shown."""
        return sum(v for _, v in self.days if v is not None)


def energy_series(db: Database, device: str, zone: ZoneInfo, now: float, days: int = DAYS) -> tuple[EnergyDays, ...]:
    """Each meter register's last `days` local days up to today."""
    last = datetime.fromtimestamp(now, zone).date()
    first = last - timedelta(days=days - 1)
    found: dict[tuple[str, str], dict[date, float]] = {}
    for _d, meter, register, day, kwh, _samples, _resets in energy_days(
        db, [device], first=first.isoformat(), last=last.isoformat()
    ):
        found.setdefault((meter, register), {})[date.fromisoformat(day)] = float(kwh)
    return tuple(
        EnergyDays(meter, register, tuple(
            (first + timedelta(days=i), values.get(first + timedelta(days=i))) for i in range(days)
        ))
        for (meter, register), values in sorted(found.items())
    )
