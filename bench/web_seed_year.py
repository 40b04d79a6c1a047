"""A year of a village fleet for the dashboard bench (bench/web_pages.py), written straight into a fresh store.

Per box, in the shapes tests/web_seed.py writes (so the dashboard's views find them): a registry row with
coordinates around Saint-Aubin (group `saint-aubin`), a status row, the town hall's desired config
(examples/village-hall.toml), and over `days` local days ending at `now`:
  raw readings  lux-roof illuminance_lx, hall-temp and hall-climate temperature_c, water-main flow_lph, one
                each per `interval_s` (15 min); the last `dense_h` hours of the first `dense` boxes at the
                rates the hall config gives (lux and water every 60 s, hall-temp 120 s, hall-climate 300 s);
  events        the street lights' decisions: on at dusk, off at the cut-off, on at 05:30 when the sun rises
                later, off at dawn;
  roll-ups      water_nights, lighting_days and energy_days for every day;
  alarms        leaks and offline episodes, most cleared, some open, some acknowledged (a few hundred).
Bulk writes: one executemany per box in one transaction on SQLite; COPY on PostgreSQL.
"""

from __future__ import annotations

import json
import math
import sqlite3
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from fleet.store import open_store
from fleet.store.db import Database
from tests.web_seed import (
    PARIS,
    clear_alarm,
    desire,
    hall_tables,
    raise_alarm,
    register,
    status,
)

#: The bench's "now": Wednesday 25 November 2026, 12:00 in Paris.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=PARIS).timestamp()
CENTRE = (45.187, 5.726)
GROUP = "saint-aubin"
COLUMNS = "device, lane, seq, boot, mono_s, wall_s, ts, clock, type, body, received_at"
#: The hall config's sensors with their real reading periods (s): what the dense window sends.
SERIES: tuple[tuple[str, str, float], ...] = (
    ("lux-roof", "illuminance_lx", 60.0),
    ("hall-temp", "temperature_c", 120.0),
    ("hall-climate", "temperature_c", 300.0),
    ("water-main", "flow_lph", 60.0),
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What to seed: `boxes` boxes over `days` local days up to `now`; the first `dense` boxes at the real
    60-s rate over their last `dense_h` hours."""

    boxes: int
    days: int
    now: float = NOW
    interval_s: float = 900.0
    dense: int = 10
    dense_h: float = 48.0
    zone: ZoneInfo = PARIS

    @property
    def today(self) -> date:
        """The local day of `now`."""
        return datetime.fromtimestamp(self.now, self.zone).date()

    @property
    def first_day(self) -> date:
        """The first local day seeded."""
        return self.today - timedelta(days=self.days - 1)


def device_id(i: int) -> str:
    """The id of box `i`."""
    return f"box-{i:03d}"


def leaky(i: int) -> bool:
    """Whether box `i` has a small leak behind its meter (every seventh)."""
    return i % 7 == 0


def midnight(day: date, zone: ZoneInfo) -> float:
    """Epoch seconds of a local midnight."""
    return datetime.combine(day, time(0), zone).timestamp()


def sun_hours(day: date) -> tuple[float, float]:
    """A plain sunrise and sunset (local hours) for the Alps' foothills: 8:10/17:00 in December, 5:55/21:40 in June."""
    phase = math.cos(2 * math.pi * (day.timetuple().tm_yday - 172) / 365.0)
    return 7.05 - 1.15 * phase, 19.35 + 2.3 * phase


def cutoff_hour(day: date) -> float:
    """When the hall config's cut-off starts the night of `day` (hours after its midnight)."""
    return 24.5 if day.weekday() in (4, 5) else 23.0


def _event(device: str, seq: int, ts: float, start: float, reason: str, on: bool, mode: str, lux: float
           ) -> tuple[Any, ...]:
    body = json.dumps({"kind": "decision", "source": "street-main", "reason": reason, "data": {
        "relay": "street-lights", "on": on, "mode": mode, "lux": lux}}, separators=(",", ":"))
    return (device, "event", seq, "b1", ts - start, ts, ts, "synced", "event", body, ts + 30.0)


def event_rows(i: int, plan: Plan) -> list[tuple[Any, ...]]:
    """Box `i`'s lighting decisions, oldest first."""
    device, start, rows = device_id(i), midnight(plan.first_day, plan.zone), []
    for k in range(plan.days):
        day = plan.first_day + timedelta(days=k)
        base = midnight(day, plan.zone)
        rise, sunset = sun_hours(day)
        plan_of_day = []
        if rise > 5.5:
            plan_of_day += [(5.5, "early", True, "lux", 1.0)]
        plan_of_day += [(rise + 0.3, "dawn", False, "lux", 70.0), (sunset + 0.2 + (i % 5) / 60.0, "dusk", True,
                                                                   "lux", 20.0),
                        (cutoff_hour(day), "cut-off", False, "cut-off", 0.5)]
        for hour, reason, on, mode, lux in plan_of_day:
            ts = base + hour * 3600.0
            if ts < plan.now:
                rows.append(_event(device, len(rows) + 1, ts, start, reason, on, mode, lux))
    return rows


def _values(i: int, day: date, s: float) -> tuple[float, float, float, float]:
    """lux, hall-temp, hall-climate, flow at `s` seconds after the local midnight of `day`."""
    h = s / 3600.0
    rise, sunset = sun_hours(day)
    lux = 18000.0 * math.sin(math.pi * (h - rise) / (sunset - rise)) + 3.0 if rise < h < sunset else 0.4
    open_hours = day.weekday() < 5 and 8.5 <= h < 17.5
    temp = (19.0 if open_hours else 15.5) + 0.3 * math.sin(h + i)
    if 1.0 <= h < 5.0:
        flow = 4.0 if leaky(i) else 0.0
    else:
        flow = 40.0 + 80.0 * abs(math.sin(h * 1.7 + i))
    return lux, temp, temp + 0.4, flow


def reading_rows(i: int, plan: Plan) -> Iterator[tuple[Any, ...]]:
    """Box `i`'s raw readings in time order (seq per lane growing with time)."""
    device, start = device_id(i), midnight(plan.first_day, plan.zone)
    dense_from = plan.now - plan.dense_h * 3600.0 if i < plan.dense else plan.now
    heads = [f'{{"sensor":"{sensor}","name":"{name}","value":' for sensor, name, _ in SERIES]
    periods = [period for _, _, period in SERIES]
    seq = 0
    for k in range(plan.days):
        day = plan.first_day + timedelta(days=k)
        base, end = midnight(day, plan.zone), min(midnight(day + timedelta(days=1), plan.zone), plan.now)
        t = base
        while t < end:
            dense = t >= dense_from
            values = _values(i, day, t - base)
            for n in range(4):
                if dense and (t - dense_from) % periods[n]:
                    continue
                seq += 1
                yield (device, "raw", seq, "b1", t - start, t, t, "synced", "reading",
                       f"{heads[n]}{values[n]:.2f}}}", t + 30.0)
            t = t + 60.0 if dense else min(t + plan.interval_s, dense_from)


def rollup_rows(i: int, plan: Plan) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Box `i`'s water_nights, lighting_days and energy_days rows, one per day (nights up to yesterday's)."""
    device = device_id(i)
    water, lighting, energy = [], [], []
    for k in range(plan.days):
        day = plan.first_day + timedelta(days=k)
        rise, sunset = sun_hours(day)
        lit_h = (cutoff_hour(day) - sunset - 0.2) + max(0.0, rise + 0.3 - 5.5)
        day_s = day.isoformat()
        if day < plan.today:
            water.append((device, "water-main", day_s, 4.0 if leaky(i) else 0.0, 48, 950.0 + 10 * (i % 9)))
        lighting.append((device, "street-main", day_s, lit_h * 3600.0, (24.0 - sunset + rise) * 3600.0, 4))
        energy.append((device, "energy-lighting", "import_energy_kwh", day_s, round(lit_h * 0.74, 4), 288, 0))
    return water, lighting, energy


def _registry(db: Database, plan: Plan) -> None:
    tables = hall_tables()
    for i in range(plan.boxes):
        device = device_id(i)
        lat = CENTRE[0] + 0.03 * math.sin(i * 2.39996) * math.sqrt(i / max(1, plan.boxes))
        lon = CENTRE[1] + 0.04 * math.cos(i * 2.39996) * math.sqrt(i / max(1, plan.boxes))
        register(db, device, f"Site {i:03d}", round(lat, 5), round(lon, 5), groups=(GROUP,),
                 added_at=midnight(plan.first_day, plan.zone))
        online = i % 10 != 3
        status(db, device, online=online, since=plan.now - 86400.0 * (1 + i % 20),
               last_seen=plan.now - (60.0 if online else 3 * 3600.0))
        desire(db, device, tables)


def _alarms(db: Database, plan: Plan) -> int:
    """Leak and offline episodes over the year; the number of alarms."""
    start, count = midnight(plan.first_day, plan.zone), 0
    span = plan.now - start
    for i in range(plan.boxes):
        device = device_id(i)
        episodes = [("offline", "link", "warning", 0.2 + 0.07 * (i % 9)), ("offline", "link", "warning", 0.6)]
        if leaky(i):
            episodes += [("leak", "leak-hall", "critical", f) for f in (0.15, 0.45, 0.75)]
        for n, (kind, source, severity, frac) in enumerate(sorted(episodes, key=lambda e: e[3])):
            at_s = start + span * frac + 3600.0 * (i % 24)
            alarm = _raise(db, device, kind, source, severity, at_s, plan)
            clear_alarm(db, alarm, at_s + 86400.0 * (1 + n % 3))
            if n % 2 == 0:
                db.execute("UPDATE alarms SET acked_by = 'tech', acked_at = ? WHERE id = ?", (at_s + 1800.0, alarm))
            count += 1
        if leaky(i):
            _raise(db, device, "leak", "leak-hall", "critical", plan.now - 86400.0 * (1 + i % 4), plan)
            count += 1
        if i % 10 == 3:
            alarm = _raise(db, device, "offline", "link", "warning", plan.now - 3 * 3600.0, plan)
            if i % 20 == 3:
                db.execute("UPDATE alarms SET acked_by = 'tech', acked_at = ? WHERE id = ?", (plan.now - 600, alarm))
            count += 1
    return count


def _raise(db: Database, device: str, kind: str, source: str, severity: str, at_s: float, plan: Plan) -> str:
    if kind != "leak":
        return raise_alarm(db, device, kind, severity, at_s, source=source, message="the box went offline",
                           evidence={"reason": "last will"})
    evening = datetime.fromtimestamp(at_s, plan.zone).date()
    nights = [{"date": (evening - timedelta(days=d)).isoformat(), "mnf_lph": 4.0} for d in (2, 1, 0)]
    return raise_alarm(db, device, kind, severity, at_s, source=source, box_ref="leak-hall/night_flow",
                       message="night flow 4 L/h against a usual 0 L/h",
                       evidence={"excess_lph": 4.0, "baseline_lph": 0.0, "spread_lph": 0.5, "night_flows_lph": nights})


def _box_records(i: int, plan: Plan) -> Iterator[tuple[Any, ...]]:
    yield from event_rows(i, plan)
    yield from reading_rows(i, plan)


def _records_sqlite(path: str, plan: Plan, hwm: dict[tuple[str, str], int]) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")
        conn.execute("BEGIN")
        for i in range(plan.boxes):
            rows = list(_box_records(i, plan))
            conn.executemany(f"INSERT INTO records ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            for row in rows:
                hwm[(row[0], row[1])] = row[2]
        conn.execute("COMMIT")
        # No ANALYZE: nothing in the fleet runs it, so a live SQLite store plans its queries without statistics.
    finally:
        conn.close()


def _records_postgresql(url: str, plan: Plan, hwm: dict[tuple[str, str], int]) -> None:
    # COPY is PostgreSQL's bulk path (row-by-row inserts of ~14 M records take tens of minutes); the store's
    # Database offers no COPY, so the seed opens its own psycopg connection on the same URL.
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY records ({COLUMNS}) FROM STDIN") as copy:
            for i in range(plan.boxes):
                for row in _box_records(i, plan):
                    copy.write_row(row)
                    hwm[(row[0], row[1])] = row[2]
        conn.commit()
        conn.autocommit = True
        # What autovacuum does on a live store: statistics, and the visibility map index-only scans need.
        cur.execute("VACUUM ANALYZE")


def seed(url: str, plan: Plan) -> dict[str, int]:
    """Fill the fresh store at `url` as the module's docstring says; counts of what was written."""
    store = open_store(url)
    try:
        db = store.db
        with db.transaction():
            _registry(db, plan)
            water, lighting, energy = [], [], []
            for i in range(plan.boxes):
                w, li, e = rollup_rows(i, plan)
                water += w
                lighting += li
                energy += e
            db.executemany("INSERT INTO water_nights VALUES (?,?,?,?,?,?)", water)
            db.executemany("INSERT INTO lighting_days VALUES (?,?,?,?,?,?)", lighting)
            db.executemany("INSERT INTO energy_days VALUES (?,?,?,?,?,?,?)", energy)
            alarms = _alarms(db, plan)
    finally:
        store.close()
    hwm: dict[tuple[str, str], int] = {}
    if url.startswith("sqlite"):
        _records_sqlite(url.removeprefix("sqlite:///"), plan, hwm)
    else:
        _records_postgresql(url, plan, hwm)
    store = open_store(url)
    try:
        with store.db.transaction() as db:
            db.executemany("INSERT INTO lanes (device, lane, hwm) VALUES (?,?,?)",
                           [(device, lane, seq) for (device, lane), seq in sorted(hwm.items())])
            db.execute("UPDATE devices SET records_new = (SELECT sum(l.hwm) FROM lanes l WHERE l.device = devices.id),"
                       " batches = (SELECT sum(l.hwm) FROM lanes l WHERE l.device = devices.id) / 100")
    finally:
        store.close()
    return {"records": sum(hwm.values()), "water_nights": len(water), "lighting_days": len(lighting),
            "energy_days": len(energy), "alarms": alarms}
