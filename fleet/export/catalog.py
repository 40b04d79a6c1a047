"""What a device has to export: its raw reading series (with units and untrusted counts) and its roll-ups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fleet.export.readings import UNITS, ReadingSeries, reading_series, unit_suffix
from fleet.export.rollups import RollupSeries, rollup_series
from fleet.export.span import Span, UnknownDeviceError
from fleet.store.db import Database

#: Without a range, the reading series listed are those with readings in the last 31 days.
DEFAULT_DAYS = 31


def device_site(db: Database, device: str) -> str:
    """The registered site of `device` ('' when it is only heard of); UnknownDeviceError when neither."""
    row = db.one(
        "SELECT (SELECT site FROM registry WHERE device = ?), (SELECT 1 FROM devices WHERE id = ?)", (device, device)
    )
    if row is None or (row[0] is None and row[1] is None):
        raise UnknownDeviceError(f"no device {device!r}")
    return "" if row[0] is None else str(row[0])


def unit_of(reading: str) -> str:
    """The unit symbol of a reading's name (`temperature_c` -> °C), '' when its name carries none."""
    suffix = unit_suffix(reading)
    return "" if suffix is None else UNITS[suffix]


@dataclass(frozen=True, slots=True)
class Catalog:
    """A device's series: raw readings within a span, and every roll-up series it has."""

    device: str
    site: str
    span: Span
    readings: tuple[ReadingSeries, ...]
    rollups: tuple[RollupSeries, ...]

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON (times as epoch seconds, units as symbols)."""
        return {
            "device": self.device, "site": self.site, "from_s": self.span.start_s, "to_s": self.span.end_s,
            "readings": [{"sensor": s.sensor, "reading": s.reading, "unit": unit_of(s.reading), "count": s.count,
                          "first_s": s.first_s, "last_s": s.last_s, "untrusted": s.untrusted} for s in self.readings],
            "rollups": [{"rollup": s.rollup, "sensor": s.sensor, "register": s.register, "count": s.count,
                         "first_day": s.first_day, "last_day": s.last_day} for s in self.rollups],
        }


def default_span(now: float) -> Span:
    """The last DEFAULT_DAYS days up to `now` (and a day past it, for a box whose clock runs a little ahead)."""
    return Span(now - DEFAULT_DAYS * 86400.0, now + 86400.0)


def catalog(db: Database, device: str, span: Span) -> Catalog:
    """The series `device` has (reading series with readings in `span`); UnknownDeviceError for an unknown device."""
    site = device_site(db, device)
    return Catalog(device, site, span, tuple(reading_series(db, device, span.start_s, span.end_s)),
                   tuple(rollup_series(db, device)))
