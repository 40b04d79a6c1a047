"""A small village's fleet store as the dashboard's browser tests see it: three boxes, last night, 60 nights.

Written relative to `now` (the real clock: the served dashboard reads it), in the shapes the ingest and the
roll-ups write (tests/web_seed.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from web_seed import Records, at, desire, hall_tables, raise_alarm, register, status

from fleet.store.db import Database

PARIS = ZoneInfo("Europe/Paris")


@dataclass(frozen=True, slots=True)
class Village:
    """What the seed holds, for the test's expectations."""

    sites: tuple[str, ...]
    hall: str
    leak_alarm: str
    last_evening: date


def seed_village(db: Database, now: float) -> Village:
    """Three boxes of Saint-Aubin; the town hall with a night of lux and lamps, 60 nights of water, a leak."""
    today = datetime.fromtimestamp(now, PARIS).date()
    evening = today - timedelta(days=1)
    boxes = (("mairie", "Mairie", 45.1870, 5.7260), ("ecole", "École", 45.1895, 5.7301),
             ("reservoir", "Château d'eau", 45.1841, 5.7212))
    for device, site, lat, lon in boxes:
        register(db, device, site, lat, lon, groups=("saint-aubin",), added_at=now - 90 * 86400)
        status(db, device, online=device != "reservoir", since=now - 86400, last_seen=now - 60)
    desire(db, "mairie", hall_tables())
    rec = Records(db, "mairie")
    # Last night: dusk at 17:40, the 23:00 cut-off, on again 05:30, dawn off at 08:00 (Paris time).
    rec.decision(at(evening, 17, 40), "street-main", "street-lights", True, mode="lux", lux=22.0)
    rec.decision(at(evening, 23), "street-main", "street-lights", False, mode="cut-off", lux=0.5)
    rec.decision(at(today, 5, 30), "street-main", "street-lights", True, mode="lux", lux=0.5)
    rec.decision(at(today, 8), "street-main", "street-lights", False, mode="lux", lux=75.0)
    start = at(evening, 16)
    for i in range(0, 17 * 60, 5):
        ts = start + i * 60
        hour = (16 + i / 60) % 24
        lux = 300.0 if 8.5 <= hour < 16.5 else (0.4 if hour >= 18.5 or hour < 7 else 40.0)
        rec.reading(ts, "lux-roof", "illuminance_lx", lux)
    for i in range(0, 24 * 60, 10):
        ts = at(evening, 0) + i * 60
        rec.reading(ts, "hall-temp", "temperature_c", 15.0 + (3.5 if 9 <= i / 60 < 17 else 0.0))
        rec.reading(ts, "outdoor-temp", "temperature_c", 2.0)
    nights = [("mairie", "water-main", (today - timedelta(days=60 - i)).isoformat(),
               40.0 if i >= 55 else 0.0, 48, 200.0 if i >= 55 else 12.0) for i in range(60)]
    db.executemany("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", nights)
    db.executemany("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)", [
        ("mairie", "energy-lighting", "import_energy_kwh", (today - timedelta(days=d)).isoformat(),
         6.0 + d % 3, 288, 0) for d in range(1, 31)])
    db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", [
        ("mairie", "street-main", (today - timedelta(days=d)).isoformat(), 8.3 * 3600, 14.0 * 3600, 4)
        for d in range(1, 31)])
    leak = raise_alarm(db, "mairie", "leak", "critical", at(today - timedelta(days=5), 5, 15),
                       source="leak-hall", message="night flow 40 L/h above a baseline of 0 L/h for 5 nights",
                       evidence={"mnf_lph": 40.0, "baseline_lph": 0.0, "nights": 5})
    raise_alarm(db, "reservoir", "offline", "warning", now - 3600, source="fleet", message="no contact for 1 h")
    return Village(sites=tuple(b[1] for b in boxes), hall="mairie", leak_alarm=leak, last_evening=evening)
