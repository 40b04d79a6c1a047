"""Where a box is, for its roll-ups: its time zone and coordinates from the registry, else the fleet's zone."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fleet.store.db import Database


@dataclass(frozen=True, slots=True)
class Place:
    """A box's time zone (its days and nights) and coordinates (its astronomical night; None if unknown)."""

    zone: ZoneInfo
    latitude: float | None = None
    longitude: float | None = None


def device_place(db: Database, device: str, default_zone: ZoneInfo) -> Place:
    """The registry's time zone and coordinates of a box; the fleet's zone when the registry names none
    (or one this machine does not know). The registry is schema step 2, always there before step 5."""
    row = db.one("SELECT timezone, latitude, longitude FROM registry WHERE device = ?", (device,))
    if row is None:
        return Place(default_zone)
    zone = default_zone
    if isinstance(row[0], str) and row[0]:
        try:
            zone = ZoneInfo(row[0])
        except (ValueError, ZoneInfoNotFoundError):
            zone = default_zone
    lat, lon = row[1], row[2]
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return Place(zone)
    return Place(zone, float(lat), float(lon))
