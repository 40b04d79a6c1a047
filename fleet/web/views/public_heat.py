"""The temperature kept in a commune's public buildings, per day, for its inhabitants: no building, zone or hour.

For each of the last complete local days (not today): the heated zones are the `[[heating]]` zones in the desired
configs of the commune's boxes; a zone's temperature is its main thermometer's temperature_c readings that day
(a box's folded hourly aggregates count as their mean). Lowest = the lowest of them over every zone; mean = the
mean over the zones of each zone's mean that day (each zone weighs the same, however often it reports).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.controllers.heating.config import TEMPERATURE_READING
from fleet.store.db import Database
from fleet.web.views.box_config import box_setup
from fleet.web.views.series import readings

#: How many complete days the page shows.
DAYS = 7


@dataclass(frozen=True, slots=True)
class DayTemperature:
    """One local day over the commune's heated zones: the lowest temperature, the mean, how many zones reported."""

    day: date
    lowest_c: float | None
    mean_c: float | None
    zones: int


def temperatures_kept(db: Database, devices: Sequence[str], zone: ZoneInfo, now: float, days: int = DAYS
                      ) -> tuple[DayTemperature, ...]:
    """The last `days` complete local days before now's, oldest first (module docstring)."""
    last = datetime.fromtimestamp(now, zone).date() - timedelta(days=1)
    wanted = [last - timedelta(days=i) for i in range(days - 1, -1, -1)]
    edges = [datetime.combine(d, time(0), zone).timestamp() for d in [*wanted, last + timedelta(days=1)]]
    per_day: list[list[list[float]]] = [[] for _ in wanted]
    for device in devices:
        for cfg in box_setup(db, device).heating:
            samples = readings(db, device, TEMPERATURE_READING, edges[0], edges[-1], [cfg.thermometer])
            points = samples.get(cfg.thermometer, [])
            for i in range(len(wanted)):
                values = [v for ts, v in points if edges[i] <= ts < edges[i + 1]]
                if values:
                    per_day[i].append(values)
    found = []
    for day, zones in zip(wanted, per_day, strict=True):
        if not zones:
            found.append(DayTemperature(day, None, None, 0))
            continue
        lowest = min(min(values) for values in zones)
        mean = sum(sum(values) / len(values) for values in zones) / len(zones)
        found.append(DayTemperature(day, lowest, mean, len(zones)))
    return tuple(found)
